using Sedd.Benchmarks.Tests;
using Sedd.Evidence;
using Sedd.Runtime;
using Sedd.Tests.Shared;

namespace Sedd.Benchmarks.Tests.Evidence;

public class EvidenceCommandTest
{
    [Fact]
    public void EvidenceCommandTest_StepCountsParseAndRefuseWhatIsNotAStepCount()
    {
        Assert.Equal([8, 16, 256], EvidenceCommand.StepList(" 8, 16 ,256"));
        foreach (var bad in new[] { "", "8,0", "8,-1", "8,x", "8,8", "100001", "1.5" })
        {
            var e = Assert.Throws<SeddException>(() => EvidenceCommand.StepList(bad));
            Assert.Equal(SeddException.Usage, e.ExitCode);
            Assert.Contains("--step-counts", e.Message, StringComparison.Ordinal);
        }
    }

    [Fact]
    public void EvidenceCommandTest_TrackedFilesAreWrittenOnlyByAFullRunThatAsks()
    {
        EvidenceCommand.Check(new EvidenceOptions());
        EvidenceCommand.Check(new EvidenceOptions { WriteResults = true });
        EvidenceCommand.Check(new EvidenceOptions { WriteResults = true, WriteReadme = true });
        EvidenceCommand.Check(EvidenceOptions.QuickDefaults());
        foreach (var o in new[]
        {
            EvidenceOptions.QuickDefaults() with { WriteResults = true },
            EvidenceOptions.QuickDefaults() with { WriteReadme = true, WriteResults = true },
            new EvidenceOptions { WriteReadme = true },
        })
        {
            var e = Assert.Throws<SeddException>(() => EvidenceCommand.Check(o));
            Assert.Equal(SeddException.Usage, e.ExitCode);
        }
    }

    [Fact]
    public void EvidenceCommandTest_DefaultsWriteUntrackedOutputWithTheHeadlineKAndN()
    {
        var full = new EvidenceOptions();
        Assert.Equal("artifacts/evidence", full.Output);
        Assert.False(full.WriteResults || full.WriteReadme);
        Assert.True(full.TimeSamples >= 32, "the headline bounds need K ≥ 32");
        Assert.True(full.NumSamples >= 64, "generative perplexity needs N ≥ 64 per setting");
        var quick = EvidenceOptions.QuickDefaults();
        Assert.True(quick.Quick && quick.TimeSamples < full.TimeSamples && quick.NumSamples < full.NumSamples);
        Assert.Equal(full.Output, quick.Output);
        // The repository ignores the default output folder, so a run leaves git status clean.
        var ignore = File.ReadAllLines(Path.Combine(Sedd.Tests.Goldens.RepoRoot, ".gitignore"));
        Assert.Contains("/artifacts/", ignore);
    }

    [Fact]
    public void EvidenceCommandTest_BadOptionsAreOneLineUsageErrorsBeforeAnyWork()
    {
        var r = BenchmarkTools.Run(BenchmarkTools.Evidence, "--quick", "--write-readme", "--write-results");
        ToolProcess.AssertOneLineFailure(r, "sedd-evidence", SeddException.Usage, quietStdout: true, "not evidence");
        r = BenchmarkTools.Run(BenchmarkTools.Evidence, "--write-readme");
        ToolProcess.AssertOneLineFailure(r, "sedd-evidence", SeddException.Usage, quietStdout: true, "--write-results");
        r = BenchmarkTools.Run(BenchmarkTools.Evidence, "--step-counts", "8,zero");
        ToolProcess.AssertOneLineFailure(r, "sedd-evidence", SeddException.Usage, quietStdout: true, "'zero'");
        r = BenchmarkTools.Run(BenchmarkTools.Evidence, "--samples", "0");
        ToolProcess.AssertOneLineFailure(r, "sedd-evidence", SeddException.Usage, quietStdout: true, "--samples");
        r = BenchmarkTools.Run(BenchmarkTools.Evidence, "--package", "x");
        ToolProcess.AssertOneLineFailure(r, "sedd-evidence", SeddException.Usage, quietStdout: true, "package");
    }

    [Fact]
    public void EvidenceCommandTest_AFullRunWithoutItsRunsNamesEachAndTheCommandThatTrainsIt()
    {
        var output = Directory.CreateTempSubdirectory("sedd-evidence-").FullName;
        try
        {
            var r = BenchmarkTools.Run(BenchmarkTools.Evidence, "-o", output, "--ar", "runs/no-such-ar", "--scorer", "runs/no-such-scorer", "--data", Path.Combine(output, "brown"));
            Assert.True(r.Code == SeddException.BadInput, r.ToString());
            var last = r.Err.Split('\n', StringSplitOptions.RemoveEmptyEntries).Last();
            foreach (var text in new[] { "runs/no-such-ar", "runs/no-such-scorer", "train --config", "--quick" })
                Assert.Contains(text, last, StringComparison.Ordinal);
            // Refused before any data was prepared.
            Assert.False(Directory.Exists(Path.Combine(output, "brown")), r.ToString());
        }
        finally
        {
            Directory.Delete(output, recursive: true);
        }
    }

    [Fact]
    public void EvidenceCommandTest_SigtermWhileAStandInTrainsStopsWith130()
    {
        if (!OperatingSystem.IsLinux()) return;
        var output = Directory.CreateTempSubdirectory("sedd-evidence-").FullName;
        try
        {
            var (r, seconds) = BenchmarkTools.Terminate(BenchmarkTools.Evidence, "tiny stand-in", TimeSpan.FromSeconds(60),
                "--quick", "-o", output, "--ar", "runs/no-such-ar", "--scorer", "runs/no-such-scorer", "--data", Path.Combine(output, "brown"), "-t", "1");
            BenchmarkTools.AssertCancelled(r, "sedd-evidence");
            Assert.True(seconds < 30, $"took {seconds:F1} s to stop; {r}");
            Assert.False(File.Exists(Path.Combine(output, "evidence.md")), "a cancelled run wrote a report");
        }
        finally
        {
            Directory.Delete(output, recursive: true);
        }
    }
}
