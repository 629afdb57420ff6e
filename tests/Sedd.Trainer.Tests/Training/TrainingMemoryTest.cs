using Sedd.Runtime;
using Sedd.Trainer.Model;
using Sedd.Trainer.Tests.Cli;
using Sedd.Trainer.Training;

namespace Sedd.Trainer.Tests.Training;

/// <summary>Memory estimates: close below the real parameter count, and absurd settings refused before any allocation.</summary>
[Collection(TorchGlobalState.Name)]
public class TrainingMemoryTest
{
    [Theory]
    [InlineData("sedd", "absorb", 32, 2, 2, 32, 513)]
    [InlineData("sedd", "uniform", 64, 3, 4, 16, 513)]
    [InlineData("ar", "absorb", 48, 2, 2, 32, 1000)]
    [InlineData("sedd", "absorb", 192, 6, 4, 128, 4097)]
    public void TrainingMemoryTest_ParameterCountIsTheNetworksWithinTwoPercent(string objective, string graph, int hidden, int blocks, int heads, int cond, int vocab)
    {
        var config = ConfigLoader.Load(null, [$"objective={objective}", $"graph.type={graph}", $"model.hidden_size={hidden}", $"model.n_blocks={blocks}",
            $"model.n_heads={heads}", $"model.cond_dim={cond}"]);
        using TorchSharp.torch.nn.Module network = objective == "ar"
            ? new ArTransformer(config.Model, vocab)
            : new ScoreNetwork(config.Model, graph == "absorb" ? vocab + 1 : vocab, scaleBySigma: graph == "absorb");
        long actual = ModelWeights.ParameterCount(network);
        long estimate = TrainingMemory.Parameters(config, vocab);
        Assert.InRange(estimate, (long)(0.98 * actual), actual);
    }

    [Theory]
    [InlineData("model.hidden_size=65536", "model.n_heads=2")]
    [InlineData("model.n_blocks=1024", "model.hidden_size=8192")]
    [InlineData("training.batch_size=2000000000")]
    [InlineData("model.length=1048576")]
    public void TrainingMemoryTest_WhatCannotFitIsRefusedWithNeededAndAvailable(params string[] overrides)
    {
        var config = ConfigLoader.Load(null, overrides);
        var e = Assert.Throws<SeddException>(() => TrainingMemory.RequireTraining(config, 50257));
        Assert.Equal(SeddException.Usage, e.ExitCode);
        Assert.Matches(@"needs about [\d.]+ [KMGE]B of memory but about [\d.]+ [KMG]B is available", e.Message);
        Assert.Contains("training.batch_size", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void TrainingMemoryTest_TheShippedConfigsFit()
    {
        // The estimate only counts what certainly exists, so the default model's batch of 128 stays far below a few GB.
        var config = ConfigLoader.Load(Path.Combine(Sedd.Tests.Goldens.RepoRoot, "configs", "brown-absorb-default.json"), []);
        Assert.InRange(TrainingMemory.Training(config, 4097), 1L << 30, 4L << 30);
        Assert.True(TrainingMemory.Forward(config, 4097, 32) < TrainingMemory.Training(config, 4097));
    }
}
