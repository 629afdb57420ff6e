using Sedd.Evidence;
using Sedd.Runtime;
using Sedd.Trainer.Training;

namespace Sedd.Benchmarks.Tests.Evidence;

public class StandInRunsTest
{
    [Fact]
    public void StandInRunsTest_AFullRunRefusesMissingRunsInOneLineWithoutPreparingAnything()
    {
        var ws = Workspace.At(Sedd.Tests.Goldens.RepoRoot);
        var o = new EvidenceOptions { Ar = "runs/missing-ar", Scorer = "runs/missing-scorer" };
        bool prepared = false;
        var e = Assert.Throws<SeddException>(() => StandInRuns.Resolve(ws, o, () => { prepared = true; return ""; }, Path.GetTempPath(), TextWriter.Null, default));
        Assert.Equal(SeddException.BadInput, e.ExitCode);
        Assert.DoesNotContain('\n', e.Message);
        Assert.Contains("runs/missing-ar", e.Message, StringComparison.Ordinal);
        Assert.Contains("runs/missing-scorer", e.Message, StringComparison.Ordinal);
        Assert.False(prepared);
    }

    [Fact]
    public void StandInRunsTest_StandInsAreTinyArModelsWithValidation()
    {
        var ar = StandInRuns.Config("/tmp/a", "data/brown", 64, 2, 42, 2);
        var scorer = StandInRuns.Config("/tmp/s", "data/brown", 96, 2, 99, 2);
        foreach (var c in new[] { ar, scorer })
        {
            Assert.Equal("ar", c.Objective);
            Assert.True(c.Training.EvalEvery > 0 && c.Training.EvalEvery <= c.Training.Steps, "a best-validation checkpoint must exist");
            Assert.True(c.Training.Steps * c.Training.BatchSize <= 1000, "seconds of training, not minutes");
            Assert.Equal(128, c.Model.Length); // scores and samples the package's 128-token windows
        }
        // The scorer is another model than the baseline: another seed and wider.
        Assert.NotEqual(ar.Training.Seed, scorer.Training.Seed);
        Assert.True(scorer.Model.HiddenSize > ar.Model.HiddenSize);
        ConfigLoader.FromJson(ConfigLoader.ToJson(ar), "stand-in"); // a config the trainer accepts
    }
}
