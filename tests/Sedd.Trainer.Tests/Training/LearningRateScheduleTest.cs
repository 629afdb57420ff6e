using System.Text.Json.Nodes;
using Sedd.Trainer.Tests.Cli;
using Sedd.Trainer.Tests.Data;
using Sedd.Trainer.Training;

namespace Sedd.Trainer.Tests.Training;

/// <summary>optim.schedule: "constant" is the reference's warm-up then flat; "cosine" falls to lr·min_lr_ratio at the last step.</summary>
[Collection(TorchGlobalState.Name)]
public class LearningRateScheduleTest
{
    [Fact]
    public void LearningRateScheduleTest_ConstantIsWarmupThenFlatWhateverTheLastStep()
    {
        var optim = new OptimConfig { Lr = 2e-3, Warmup = 10 };
        foreach (long last in new long[] { 5, 20, long.MaxValue })
        {
            Assert.Equal(2e-4, AdamW.LearningRate(optim, 1, last), 15);
            Assert.Equal(1e-3, AdamW.LearningRate(optim, 5, last), 15);
            Assert.Equal(2e-3, AdamW.LearningRate(optim, 10, last), 15);
            Assert.Equal(2e-3, AdamW.LearningRate(optim, 1000, last), 15);
        }
        Assert.Equal(2e-3, AdamW.LearningRate(optim with { Warmup = 0 }, 1, 1), 15);
    }

    [Fact]
    public void LearningRateScheduleTest_CosineWarmsUpThenFallsToTheFloorAtTheLastStep()
    {
        var optim = new OptimConfig { Lr = 1e-3, Warmup = 10, Schedule = "cosine", MinLrRatio = 0.2 };
        const long Last = 110;
        Assert.Equal(5e-4, AdamW.LearningRate(optim, 5, Last), 15);                      // warm-up unchanged
        Assert.Equal(1e-3, AdamW.LearningRate(optim, 10, Last), 15);                     // peak at its end
        Assert.Equal(1e-3 * (0.2 + 0.8 * 0.5), AdamW.LearningRate(optim, 60, Last), 15); // half-way: half the drop
        Assert.Equal(2e-4, AdamW.LearningRate(optim, Last, Last), 15);                   // the floor at the last step
        Assert.Equal(2e-4, AdamW.LearningRate(optim, Last + 50, Last), 15);              // and after it
        var after = Enumerable.Range(10, 101).Select(k => AdamW.LearningRate(optim, k, Last)).ToArray();
        for (int i = 1; i < after.Length; i++) Assert.True(after[i] < after[i - 1], $"cosine rose at step {10 + i}");
        // A run that ends inside its warm-up has no room to fall: the floor after it.
        Assert.Equal(2e-4, AdamW.LearningRate(optim, 12, 8), 15);
    }

    [Fact]
    public void LearningRateScheduleTest_ATrainingRunLogsTheCosineItFollows()
    {
        const int Steps = 6;
        using var t = new TempFolder();
        var data = TinyTraining.PrepareCorpus(t);
        var config = TinyTraining.Config(data, t.Combine("run"), Steps, "optim.warmup=2", "optim.schedule=cosine", "optim.min_lr_ratio=0.1");
        TinyTraining.NewTrainer().Run(config, resume: false, CancellationToken.None);

        var lrs = File.ReadAllLines(Path.Combine(t.Combine("run"), "metrics.jsonl")).Select(l => JsonNode.Parse(l)!.AsObject())
            .Where(r => (string?)r["kind"] == "train").ToDictionary(r => (long)r["step"]!, r => (double)r["lr"]!);
        Assert.Equal(Enumerable.Range(1, Steps).Select(s => (long)s), lrs.Keys);
        for (long s = 1; s <= Steps; s++) Assert.Equal(AdamW.LearningRate(config.Optim, s, Steps), lrs[s], 15);
        Assert.Equal(config.Optim.Lr / 2, lrs[1], 15);
        Assert.Equal(config.Optim.Lr * 0.1, lrs[Steps], 15);
    }
}
