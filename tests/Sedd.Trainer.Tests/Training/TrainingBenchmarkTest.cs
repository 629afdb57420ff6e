using Sedd.Trainer.Tests.Cli;
using Sedd.Trainer.Tests.Data;
using Sedd.Trainer.Training;

namespace Sedd.Trainer.Tests.Training;

/// <summary>sedd-train bench: progress on every step, a time budget, bf16 only where native, and MFU above 100 % flagged.</summary>
[Collection(TorchGlobalState.Name)]
public class TrainingBenchmarkTest
{
    [Fact]
    public void TrainingBenchmarkTest_MfuAbove100PercentIsFlaggedAsAMeasurementProblem()
    {
        Assert.Equal("53.0%", TrainingBenchmark.MfuCell(53e9, 100e9, out bool plausible));
        Assert.False(plausible);
        Assert.Equal("119.0% !", TrainingBenchmark.MfuCell(119e9, 100e9, out bool implausible));
        Assert.True(implausible);
        var note = TrainingBenchmark.ImplausibleMfu("3.2", "1.0");
        Assert.Contains("measurement problem", note, StringComparison.Ordinal);
        Assert.Contains("load average 3.2", note, StringComparison.Ordinal);
    }

    [Fact]
    public void TrainingBenchmarkTest_Bf16OnlyByDefaultWhereTheHardwareHasIt()
    {
        var list = TrainingBenchmark.DefaultPrecisions(TorchSharp.torch.CPU, out var skipped);
        if (TrainingBenchmark.CpuHasNativeBf16())
        {
            Assert.Equal(["fp32", "bf16"], list);
            Assert.Null(skipped);
        }
        else
        {
            Assert.Equal(["fp32"], list);
            Assert.Contains("--precisions fp32,bf16", skipped, StringComparison.Ordinal);
        }
    }

    [Fact]
    public void TrainingBenchmarkTest_PrintsEveryStepAndKeepsToItsTimeBudget()
    {
        using var t = new TempFolder();
        var data = TinyTraining.PrepareCorpus(t);
        var config = TinyTraining.Config(data, t.Combine("run"), 2);
        var output = new StringWriter();
        TrainingBenchmark.Run(config, steps: 2, warmup: 1, ["fp32"], output, progress: output);
        var text = output.ToString();
        Assert.Contains("fp32 step 1/3 (warm-up)", text, StringComparison.Ordinal);
        Assert.Contains("fp32 step 3/3 (timed 2/2)", text, StringComparison.Ordinal);
        Assert.Contains("matmul peak after the steps", text, StringComparison.Ordinal);
        Assert.Matches(@"\nfp32\s+\|\s+\d+", text);
        Assert.False(Directory.Exists(t.Combine("run")), "bench wrote a run folder");

        // A budget far below 100000 steps: it stops after the budget, having timed at least one step.
        output = new StringWriter();
        var clock = System.Diagnostics.Stopwatch.StartNew();
        TrainingBenchmark.Run(config, steps: 100000, warmup: 0, ["fp32"], output, budgetSeconds: 1);
        Assert.True(clock.Elapsed.TotalSeconds < 60, $"a 1 s budget took {clock.Elapsed.TotalSeconds:F0} s");
        Assert.Contains("time budget of 1 s reached after", output.ToString(), StringComparison.Ordinal);
    }
}
