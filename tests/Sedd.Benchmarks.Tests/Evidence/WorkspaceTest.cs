using System.Globalization;
using Sedd.Evidence;
using Sedd.Runtime;
using Sedd.Trainer.Training;

namespace Sedd.Benchmarks.Tests.Evidence;

public class WorkspaceTest
{
    // A run folder with checkpoints at the given steps; every checkpoint records the run's best step so far.
    static void FakeRun(string run, int batch, long best, params long[] steps)
    {
        var config = ConfigLoader.ToJson(StandInRuns.Config(run, "data/brown", 64, 2, 42, 1));
        foreach (long step in steps)
        {
            var folder = Path.Combine(run, "checkpoints", $"step-{step:D8}");
            Directory.CreateDirectory(folder);
            long tokens = step * batch * 128;
            File.WriteAllText(Path.Combine(folder, "state.json"), string.Create(CultureInfo.InvariantCulture, $$"""{"step": {{step}}, "tokens": {{tokens}}, "best_valid_step": {{Math.Min(best, step)}}}"""));
            File.WriteAllText(Path.Combine(folder, "config.json"), config);
        }
    }

    [Fact]
    public void WorkspaceTest_BestAndNearestCheckpointsAreFoundByTheirCounters()
    {
        var root = Directory.CreateTempSubdirectory("sedd-ws-").FullName;
        try
        {
            var ws = Workspace.At(root);
            FakeRun(Path.Combine(root, "runs", "ar"), 8, 300, 300, 900, 1000);
            Assert.True(ws.HasRun("runs/ar"));
            Assert.False(ws.HasRun("runs/none"));

            var (best, note) = ws.BestCheckpoint("runs/ar");
            Assert.Null(note);
            Assert.Equal(300, best.Step);

            // 950 steps' worth of tokens: 900 and 1000 are as near; the later one wins the tie.
            Assert.Equal(1000, ws.CheckpointNearest("runs/ar", 950L * 8 * 128).Step);
            Assert.Equal(900, ws.CheckpointNearest("runs/ar", 920L * 8 * 128).Step);
            Assert.Equal(300, ws.CheckpointNearest("runs/ar", 0).Step);

            // The best checkpoint pruned away: the latest is used, and the note says so.
            Directory.Delete(Path.Combine(root, "runs", "ar", "checkpoints", "step-00000300"), recursive: true);
            (best, note) = ws.BestCheckpoint("runs/ar");
            Assert.Equal(1000, best.Step);
            Assert.Contains("not on disk", note, StringComparison.Ordinal);

            var e = Assert.Throws<SeddException>(() => ws.CheckpointNearest("runs/none", 1));
            Assert.Equal(SeddException.BadInput, e.ExitCode);
            Assert.Contains("train --config", e.Message, StringComparison.Ordinal);
        }
        finally
        {
            Directory.Delete(root, recursive: true);
        }
    }

    [Fact]
    public void WorkspaceTest_TrainHintNamesTheConfigOfTheRunsName()
    {
        var ws = Workspace.At(Sedd.Tests.Goldens.RepoRoot);
        Assert.EndsWith("train --config configs/brown-ar-default.json", ws.TrainHint("runs/brown-ar-default"), StringComparison.Ordinal);
        Assert.EndsWith("train --config configs/brown-ar-scorer.json", ws.TrainHint("runs/brown-ar-scorer"), StringComparison.Ordinal);
        Assert.Contains("-o runs/elsewhere", ws.TrainHint("runs/elsewhere"), StringComparison.Ordinal);
    }
}
