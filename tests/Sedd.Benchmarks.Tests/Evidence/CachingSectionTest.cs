using Sedd.Evidence;

namespace Sedd.Benchmarks.Tests.Evidence;

public class CachingSectionTest
{
    static EvidenceReport Report() => new(new MachineInfo("2026-01-01 00:00 UTC", "cpu", 2, 8, "os", "abc", 2, 0.5, "Vector256 (AVX2)"));

    static CachingResult Result(bool same, double onRows, double onSeconds) => new(8, 128, 128, 3,
    [
        new CachingRow("analytic, no caching", 1032, 0, 129, 6.0),
        new CachingRow("analytic, per-sequence caching", onRows, 1032 - onRows, 200, onSeconds),
        new CachingRow("first-hitting", 1024, 0, 128, 6.2),
    ], same);

    [Fact]
    public void CachingSectionTest_RatiosAreNoCachingOverCaching()
    {
        var r = Result(true, 516, 4.0);
        Assert.Equal(2.0, r.RowRatio, 12);
        Assert.Equal(1.5, r.TimeRatio, 12);
    }

    [Fact]
    public void CachingSectionTest_SameSamplesIsClaimedOnlyWhenTheyWereTheSame()
    {
        var report = Report();
        CachingSection.Write(report, Result(true, 516, 4.0));
        var text = report.Markdown.ToString();
        Assert.Contains("same samples", text, StringComparison.Ordinal);
        Assert.DoesNotContain("differ", text, StringComparison.Ordinal);
        Assert.Contains("(met: 2.00×)", text, StringComparison.Ordinal);
        Assert.Contains("(met: 1.50×)", text, StringComparison.Ordinal);

        report = Report();
        CachingSection.Write(report, Result(false, 900, 7.0));
        text = report.Markdown.ToString();
        Assert.DoesNotContain("same samples", text, StringComparison.Ordinal);
        Assert.Contains("samples differ", text, StringComparison.Ordinal);
        Assert.Contains("not met", text, StringComparison.Ordinal);
    }

    [Fact]
    public void CachingSectionTest_ATimeDependentModelGetsASentenceNotATable()
    {
        var report = Report();
        CachingSection.Write(report, null);
        Assert.Contains("time-dependent", report.Readme.ToString(), StringComparison.Ordinal);
        Assert.DoesNotContain("| ---", report.Readme.ToString(), StringComparison.Ordinal);
    }
}
