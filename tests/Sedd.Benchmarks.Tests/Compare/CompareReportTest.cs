using Sedd.Compare;
using Sedd.Runtime.Package;
using Sedd.Runtime.Sampling;

namespace Sedd.Benchmarks.Tests.Compare;

public class CompareReportTest
{
    static string Report(double hostShare, long bytes)
    {
        var package = ModelPackage.Open(BenchmarkTools.Model);
        var settings = new CompareSettings(package.Folder, null, 2, [1, 8], 0, 10, 3, 32);
        var timing = new Timing("torch", 20, 18);
        var batches = new[]
        {
            new BatchResult(1, 1e9, timing, timing with { Name = "ort-fp32", MedianMs = 9, MinMs = 8 }, null, 1e-5, null),
            new BatchResult(8, 8e9, timing with { MedianMs = 200 }, timing with { Name = "ort-fp32", MedianMs = 90, MinMs = 80 }, null, 1e-5, null),
        };
        var sampling = new[]
        {
            new SamplingCost(1, Predictor.Analytic, hostShare, 9, 33, 33, 0, bytes, bytes),
            new SamplingCost(1, Predictor.Euler, 0.02, 9, 33, 30, 3, 0, 0),
            new SamplingCost(8, Predictor.Analytic, 0.03, 80, 33, 250, 14, 0, 0),
            new SamplingCost(8, Predictor.Euler, 0.03, 80, 33, 250, 14, 0, 0),
        };
        var report = new CompareReport(settings, package, null, 128, package.Manifest.Model.Parameters, 2, [(1024, 100.0)], batches, sampling, "0 0 0", "0 0 0");
        var o = new StringWriter();
        report.Write(o);
        return o.ToString();
    }

    [Fact]
    public void CompareReportTest_SpeaksToUsersAndShowsRowsHostShareAndSimd()
    {
        var text = Report(0.04, 0);
        Assert.DoesNotContain("issue", text, StringComparison.OrdinalIgnoreCase);
        Assert.DoesNotContain("spec §", text, StringComparison.Ordinal);
        Assert.Contains("targets:", text, StringComparison.Ordinal);
        Assert.Contains("host SIMD", text, StringComparison.Ordinal);
        Assert.Contains("rows evaluated", text, StringComparison.Ordinal);
        Assert.Contains("   30            3", text, StringComparison.Ordinal); // rows evaluated and cached of batch 1, euler
        Assert.Matches(@"host share of a sampling step \(worst, Vector\d+\)\s+4\.00 % \(batch 1, analytic\)\s+target ≤ 5 %\s+PASS", text);
        Assert.Matches(@"managed bytes per step, sampling thread \(worst\)\s+0 .*PASS", text);
    }

    [Fact]
    public void CompareReportTest_MissedTargetsSayMiss()
    {
        var text = Report(0.09, 120);
        Assert.Matches(@"host share of a sampling step \(worst, Vector\d+\)\s+9\.00 % .*MISS", text);
        Assert.Matches(@"managed bytes per step, sampling thread \(worst\)\s+120 .*MISS", text);
    }
}
