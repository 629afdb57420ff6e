using Sedd.Runtime;
using Sedd.Trainer.Tests.Cli;
using Sedd.Trainer.Tests.Data;
using Sedd.Trainer.Training;

namespace Sedd.Trainer.Tests.Training;

/// <summary>Checkpoints: a write killed at any point leaves the previous checkpoint as the latest loadable one.</summary>
[Collection(TorchGlobalState.Name)]
public class CheckpointTest
{
    [Theory]
    [InlineData("model.safetensors")]
    [InlineData(Checkpoint.EmaFile)]
    [InlineData("optimizer.safetensors")]
    [InlineData("state.json")]
    public void CheckpointTest_KilledWriteKeepsPreviousCheckpoint(string crashAfter)
    {
        using var t = new TempFolder();
        var data = TinyTraining.PrepareCorpus(t);
        var run = t.Combine("run");
        string[] extra = ["model.dropout=0.1", "training.checkpoint_every=2"];
        TinyTraining.NewTrainer().Run(TinyTraining.Config(data, run, 4, extra), resume: false, CancellationToken.None);
        var previous = Checkpoint.Latest(run);
        Assert.Equal("step-00000004", Path.GetFileName(previous));
        var before = Snapshot(previous!);

        // Resume towards step 6; the step-6 checkpoint write dies right after writing crashAfter.
        var written = new List<string>();
        var crashed = TinyTraining.NewTrainer(file =>
        {
            written.Add(file);
            if (file == crashAfter) throw new SimulatedCrash();
        });
        Assert.Throws<SimulatedCrash>(() => crashed.Run(TinyTraining.Config(data, run, 6, extra), resume: true, CancellationToken.None));
        Assert.Equal(crashAfter, written[^1]);
        Assert.Equal([5L, 6L], crashed.StepLosses.Keys);

        // The latest pointer and the previous checkpoint are untouched; no folder has the crashed step's final name.
        Assert.Equal(previous, Checkpoint.Latest(run));
        Assert.False(Directory.Exists(Path.Combine(Checkpoint.Root(run), "step-00000006")), "a half-written checkpoint took its final name");
        Assert.Equal(["step-00000002", "step-00000004"], Checkpoint.All(run).Select(Path.GetFileName));
        foreach (var (file, bytes) in before)
            Assert.True(bytes.AsSpan().SequenceEqual(File.ReadAllBytes(file)), $"{file} changed during the crashed write");

        var loaded = Checkpoint.Load(run);
        Assert.Equal(previous, loaded.Folder);
        Assert.Equal(4, loaded.State.Step);
        Assert.NotEmpty(loaded.Model);
        Assert.Equal(loaded.Model.Keys.Order(StringComparer.Ordinal), loaded.Ema.Keys.Order(StringComparer.Ordinal));

        // Resuming from it redoes steps 5 and 6 exactly and completes the checkpoint.
        var resumed = TinyTraining.NewTrainer();
        var state = resumed.Run(TinyTraining.Config(data, run, 6, extra), resume: true, CancellationToken.None);
        Assert.Equal(6, state.Step);
        Assert.Equal(crashed.StepLosses, resumed.StepLosses);
        Assert.Equal("step-00000006", Path.GetFileName(Checkpoint.Latest(run)));
        Assert.Equal(6, Checkpoint.Load(run).State.Step);
        Assert.Empty(Directory.GetDirectories(Checkpoint.Root(run), ".*")); // the stale temporary folder was replaced and renamed
    }

    [Fact]
    public void CheckpointTest_TruncatedFileIsOneLineError()
    {
        using var t = new TempFolder();
        var data = TinyTraining.PrepareCorpus(t);
        var run = t.Combine("run");
        TinyTraining.NewTrainer().Run(TinyTraining.Config(data, run, 2), resume: false, CancellationToken.None);
        var ema = Path.Combine(Checkpoint.Latest(run)!, Checkpoint.EmaFile);
        var bytes = File.ReadAllBytes(ema);
        File.WriteAllBytes(ema, bytes[..(bytes.Length / 2)]);

        var e = Assert.Throws<SeddException>(() => Checkpoint.Load(run));
        Assert.Equal(SeddException.BadInput, e.ExitCode);
        Assert.Contains(Checkpoint.EmaFile, e.Message, StringComparison.Ordinal);
        Assert.DoesNotContain('\n', e.Message);
    }

    [Fact]
    public void CheckpointTest_IncompatibleConfigIsRefused()
    {
        using var t = new TempFolder();
        var data = TinyTraining.PrepareCorpus(t);
        var run = t.Combine("run");
        TinyTraining.NewTrainer().Run(TinyTraining.Config(data, run, 2), resume: false, CancellationToken.None);
        var before = Snapshot(Checkpoint.Latest(run)!);

        var e = Assert.Throws<SeddException>(() => TinyTraining.NewTrainer().Run(TinyTraining.Config(data, run, 4, "model.hidden_size=64"), resume: true, CancellationToken.None));
        Assert.Equal(SeddException.BadInput, e.ExitCode);
        Assert.Contains("model.hidden_size=32", e.Message, StringComparison.Ordinal);
        Assert.Contains("model.hidden_size=64", e.Message, StringComparison.Ordinal);
        foreach (var (file, bytes) in before)
            Assert.Equal(bytes, File.ReadAllBytes(file));
    }

    /// <summary>Two runs side by side, each with a checkpoint folder holding a state.json (enough for <see cref="Checkpoint.Latest"/>).</summary>
    static (string Mine, string Other) TwoRuns(TempFolder t)
    {
        foreach (var run in new[] { "mine", "other" })
            foreach (var step in new[] { "step-00000002", "step-00000004" })
                t.Write($"{run}/checkpoints/{step}/state.json", "{}");
        return (t.Combine("mine"), t.Combine("other"));
    }

    [Theory]
    [InlineData("../../other/checkpoints/step-00000004")]
    [InlineData("..")]
    [InlineData("step-00000004/../../../other/checkpoints/step-00000004")]
    [InlineData("/etc")]
    [InlineData("step-00000004\nstep-00000002")]
    [InlineData("")]
    public void CheckpointTest_ALatestPointerMayOnlyNameACheckpointOfItsRun(string pointer)
    {
        using var t = new TempFolder();
        var (mine, other) = TwoRuns(t);
        if (pointer == "/etc") pointer = Path.Combine(other, "checkpoints", "step-00000004");
        File.WriteAllText(Path.Combine(Checkpoint.Root(mine), "latest"), pointer);
        var e = Assert.Throws<SeddException>(() => Checkpoint.Latest(mine));
        Assert.Equal(SeddException.BadInput, e.ExitCode);
        Assert.Contains("not a checkpoint of this run", e.Message, StringComparison.Ordinal);
        Assert.DoesNotContain('\n', e.Message);
    }

    [Fact]
    public async Task CheckpointTest_PointersAndLinksNeverLeadOutOfTheRun()
    {
        using var t = new TempFolder();
        var (mine, other) = TwoRuns(t);
        File.WriteAllText(Path.Combine(Checkpoint.Root(mine), "latest"), "step-00000002\n");
        Assert.Equal(Path.Combine(Checkpoint.Root(mine), "step-00000002"), Checkpoint.Latest(mine));
        if (OperatingSystem.IsWindows()) return;
        // A checkpoint folder that is a link to another run's checkpoint is not one of this run's.
        Directory.CreateSymbolicLink(Path.Combine(Checkpoint.Root(mine), "step-00000009"), Path.Combine(Checkpoint.Root(other), "step-00000004"));
        File.WriteAllText(Path.Combine(Checkpoint.Root(mine), "latest"), "step-00000009");
        Assert.Equal(Path.Combine(Checkpoint.Root(mine), "step-00000004"), Checkpoint.Latest(mine));
        Assert.DoesNotContain(Checkpoint.All(mine), d => d.EndsWith("step-00000009", StringComparison.Ordinal));
        // A FIFO as the pointer is refused, never waited on.
        if (!OperatingSystem.IsLinux()) return;
        var pointer = Path.Combine(Checkpoint.Root(mine), "latest");
        File.Delete(pointer);
        Assert.Equal(0, Sedd.Tests.Shared.ToolProcess.RunExecutable("mkfifo", pointer).Code);
        var e = await Within.Seconds(20, "reading a FIFO as checkpoints/latest", () => Assert.Throws<SeddException>(() => Checkpoint.Latest(mine)));
        Assert.Contains("FIFO", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task CheckpointTest_ASpecialFileAsTheCheckpointIsNamedAsSuch()
    {
        using var t = new TempFolder();
        var missing = Path.Combine(t.Path, "nothing-here");
        Assert.Contains("not found", Assert.Throws<SeddException>(() => Checkpoint.Load(missing)).Message, StringComparison.Ordinal);
        var file = Path.Combine(t.Path, "weights.bin");
        File.WriteAllText(file, "x");
        Assert.Contains("is a regular file; expected a run folder", Assert.Throws<SeddException>(() => Checkpoint.Load(file)).Message, StringComparison.Ordinal);
        if (!OperatingSystem.IsLinux()) return;
        var fifo = Path.Combine(t.Path, "fifo");
        Assert.Equal(0, Sedd.Tests.Shared.ToolProcess.RunExecutable("mkfifo", fifo).Code);
        var e = await Within.Seconds(20, "a FIFO as the checkpoint", () => Assert.Throws<SeddException>(() => Checkpoint.Load(fifo)));
        Assert.Contains("is a FIFO (named pipe); expected a run folder", e.Message, StringComparison.Ordinal);
        Assert.Equal(SeddException.BadInput, e.ExitCode);
    }

    static Dictionary<string, byte[]> Snapshot(string folder) =>
        Directory.GetFiles(folder).ToDictionary(f => f, File.ReadAllBytes);
}
