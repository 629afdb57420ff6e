using Sedd.Compare;
using Sedd.Runtime;
using Sedd.Tests.Shared;

namespace Sedd.Benchmarks.Tests.Compare;

public class CompareCommandTest
{
    [Fact]
    public void CompareCommandTest_BatchSizesAreAListOfPositiveSizes()
    {
        Assert.Equal([1, 8, 64], CompareCommand.ParseBatchSizes("1, 8,64"));
        foreach (var bad in new[] { "", ",", "0", "1,-8", "1,x", "4097" })
        {
            var e = Assert.Throws<SeddException>(() => CompareCommand.ParseBatchSizes(bad));
            Assert.Equal(SeddException.Usage, e.ExitCode);
            Assert.Contains("--batch-sizes", e.Message, StringComparison.Ordinal);
        }
    }

    [Fact]
    public void CompareCommandTest_SettingsRefuseOutOfRangeNumbersNamingTheOption()
    {
        var model = BenchmarkTools.Model;
        var s = CompareCommand.Settings(model, null, 1, "1,8", 0, 10, 3, 32);
        Assert.Equal([1, 8], s.BatchSizes);
        foreach (var (settings, option) in new (Func<CompareSettings>, string)[]
        {
            (() => CompareCommand.Settings(model, null, 0, "1", 0, 10, 3, 32), "--threads"),
            (() => CompareCommand.Settings(model, null, 1, "1", 0, 0, 3, 32), "--runs"),
            (() => CompareCommand.Settings(model, null, 1, "1", 0, 10, -1, 32), "--warmup"),
            (() => CompareCommand.Settings(model, null, 1, "1", 0, 10, 3, 0), "--steps"),
            (() => CompareCommand.Settings(model, null, 1, "1", -1, 10, 3, 32), "--length"),
            (() => CompareCommand.Settings("", null, 1, "1", 0, 10, 3, 32), "--model"),
        })
        {
            var e = Assert.Throws<SeddException>(settings);
            Assert.Equal(SeddException.Usage, e.ExitCode);
            Assert.Contains(option, e.Message, StringComparison.Ordinal);
        }
    }

    [Fact]
    public void CompareCommandTest_TheOptionNamesFollowTheOtherTools()
    {
        var help = BenchmarkTools.Run(BenchmarkTools.Compare, "--help");
        Assert.True(help.Code == 0, help.ToString());
        foreach (var option in new[] { "-m, --model", "-t, --threads", "--batch-sizes", "-o, --output" })
            Assert.Contains(option, help.Out, StringComparison.Ordinal);
        Assert.DoesNotContain("issue", help.Out, StringComparison.OrdinalIgnoreCase);
        Assert.DoesNotContain("--batches", help.Out, StringComparison.Ordinal);

        // The old names are gone, each refused in one line.
        foreach (var old in new[] { "--batches", "--package", "--out" })
            ToolProcess.AssertOneLineFailure(BenchmarkTools.Run(BenchmarkTools.Compare, old, "1"), "sedd-compare", SeddException.Usage, quietStdout: true, old.TrimStart('-'));
        ToolProcess.AssertOneLineFailure(BenchmarkTools.Run(BenchmarkTools.Compare, "--batch-sizes", "1,x"), "sedd-compare", SeddException.Usage, quietStdout: true, "'x'");
    }

    [Fact]
    public void CompareCommandTest_OutputMustBeAFileInAFolderThatExists()
    {
        var folder = Directory.CreateTempSubdirectory("sedd-compare-").FullName;
        try
        {
            var r = BenchmarkTools.Run(BenchmarkTools.Compare, "-o", folder);
            ToolProcess.AssertOneLineFailure(r, "sedd-compare", SeddException.Usage, quietStdout: true, "expected the path of a file");
            r = BenchmarkTools.Run(BenchmarkTools.Compare, "-o", Path.Combine(folder, "no", "such", "report.txt"));
            ToolProcess.AssertOneLineFailure(r, "sedd-compare", SeddException.Environment, quietStdout: true, "does not exist");
        }
        finally
        {
            Directory.Delete(folder, recursive: true);
        }
    }

    [Fact]
    public void CompareCommandTest_SigtermDuringTheTimedRoundsStopsWith130WithinSeconds()
    {
        if (!OperatingSystem.IsLinux()) return;
        var (r, seconds) = BenchmarkTools.Terminate(BenchmarkTools.Compare, "forwards at batch", TimeSpan.FromSeconds(30),
            "-m", BenchmarkTools.Model, "--runs", "100000");
        BenchmarkTools.AssertCancelled(r, "sedd-compare");
        Assert.True(seconds < 10, $"took {seconds:F1} s to stop; {r}");
        Assert.Empty(r.Out); // no half report
    }
}
