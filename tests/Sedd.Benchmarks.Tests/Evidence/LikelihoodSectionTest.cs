using Sedd.Evidence;
using Sedd.Trainer.Training;

namespace Sedd.Benchmarks.Tests.Evidence;

public class LikelihoodSectionTest
{
    static LikelihoodRow Row(string comparison, string model, double nats, string corpus = "brown") =>
        new(comparison, model, model == "SEDD" ? "models/x" : "runs/ar/checkpoints/step-1", 1700, 27_852_800, 128, corpus,
            new EvalResult(model == "SEDD" ? "sedd" : "ar", "test", 634, 81_152, model == "SEDD" ? 32 : 1, nats, model == "SEDD" ? 0.01 : 0, model == "SEDD" ? 0.0083 : 0, 60));

    [Fact]
    public void LikelihoodSectionTest_RatiosPairSeddWithTheArOfTheSameComparison()
    {
        var rows = new[]
        {
            Row("equal", "SEDD", Math.Log(150) - 0.0083), Row("equal", "AR", Math.Log(100)),
            Row("best", "SEDD", Math.Log(150) - 0.0083), Row("best", "AR", Math.Log(120)),
            Row("zero-shot", "SEDD", Math.Log(300) - 0.0083, "nlp-corpus"), Row("zero-shot", "AR", Math.Log(200), "nlp-corpus"),
        };
        var ratios = LikelihoodSection.Ratios(rows);
        Assert.Equal(["equal", "best", "zero-shot"], ratios.Select(r => r.Comparison));
        Assert.Equal([1.5, 1.25, 1.5], ratios.Select(r => Math.Round(r.Ratio, 9)));
    }

    [Fact]
    public void LikelihoodSectionTest_TheReportStatesKAndTheRatios()
    {
        var report = new EvidenceReport(new MachineInfo("d", "cpu", 2, 8, "os", "abc", 2, 0.5, "Vector512 (AVX-512)"));
        var rows = new[] { Row("best", "SEDD", Math.Log(150) - 0.0083), Row("best", "AR", Math.Log(100)) };
        LikelihoodSection.Write(report, rows, new EvidenceOptions { TimeSamples = 32 });
        var readme = report.Readme.ToString();
        Assert.Contains("best: 1.50×", readme, StringComparison.Ordinal);
        Assert.Contains("K = 32", readme, StringComparison.Ordinal);
        Assert.Contains("≤ 150.00", readme, StringComparison.Ordinal);
        Assert.DoesNotContain("spec §", readme, StringComparison.Ordinal);

        report = new EvidenceReport(new MachineInfo("d", "cpu", 2, 8, "os", "abc", 2, 0.5, "Vector512 (AVX-512)"));
        LikelihoodSection.Write(report, rows, EvidenceOptions.QuickDefaults());
        Assert.Contains("K below the 32 of the full run", report.Markdown.ToString(), StringComparison.Ordinal);
    }
}
