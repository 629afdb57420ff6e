using System.Text.Json.Nodes;
using Sedd.Runtime;
using Sedd.Runtime.IO;
using Sedd.Runtime.Package;
using Sedd.Trainer.Data;
using Sedd.Trainer.Diffusion;
using Sedd.Trainer.Tests.Cli;
using Sedd.Trainer.Tests.Data;
using Sedd.Trainer.Training;

namespace Sedd.Trainer.Tests.Training;

/// <summary>
/// <c>sedd-train train --init PACKAGE</c>: a run starts from the committed default model's weights,
/// continues its counters, warms the learning rate up again, and refuses a package that does not fit.
/// </summary>
[Collection(TorchGlobalState.Name)]
public class WarmStartTest
{
    static readonly string Package = Path.Combine(Sedd.Tests.Goldens.RepoRoot, "models", "sedd-brown-5m");
    static readonly string DefaultConfig = Path.Combine(Sedd.Tests.Goldens.RepoRoot, "configs", "brown-absorb-default.json");

    /// <summary>The tiny corpus, tokenized like the default model (gpt2-4096).</summary>
    static string PrepareData(TempFolder t, string tokenizer = "gpt2-4096")
    {
        var corpus = TinyTraining.WriteCorpus(t);
        new PrepareCommand(TextWriter.Null).Run(new PrepareOptions { Corpus = corpus, Output = t.Combine("data"), Tokenizer = tokenizer, CacheDir = t.Combine("cache") });
        return t.Combine("data");
    }

    static TrainConfig Config(string data, string run, long steps, params string[] more) => ConfigLoader.Load(DefaultConfig,
    [
        $"data={data}", $"output={run}", $"training.steps={steps}", "training.batch_size=2", "training.threads=1", "training.device=cpu",
        "training.log_every=1", "training.eval_every=0", "training.checkpoint_every=1", "model.dropout=0", .. more,
    ]);

    [Fact]
    public void WarmStartTest_ContinuesThePackagesWeightsCountersAndWarmup()
    {
        var manifest = ModelPackage.Open(Package).Manifest;
        long steps = manifest.Provenance.Steps!.Value, tokens = manifest.Provenance.Tokens!.Value;
        using var t = new TempFolder();
        var data = PrepareData(t);
        var run = t.Combine("run");
        var config = Config(data, run, steps + 2);
        var trainer = TinyTraining.NewTrainer();
        var state = trainer.Run(config, resume: false, CancellationToken.None, init: Package);

        Assert.Equal(steps + 2, state.Step);
        Assert.Equal(tokens + 2 * 2 * config.Model.Length, state.Tokens);
        Assert.Equal(steps, state.WarmupFrom);
        Assert.Equal(new[] { steps + 1, steps + 2 }, trainer.StepLosses.Keys);

        // Trained weights, not a fresh initialisation: an untrained absorb network scores (1 − ε) ln V per
        // token (spec §4.1); the default model is well below that at its first step, even on this tiny
        // repetitive corpus and with one time draw for each of the batch's two sequences.
        using var train = TokenDataset.Open(data, DataSplit.Train);
        double untrained = ScoreEntropyLoss.UntrainedLossPerToken(train.VocabSize);
        Assert.True(trainer.StepLosses[steps + 1] < 0.9 * untrained,
            $"first warm-started step scored {trainer.StepLosses[steps + 1]:F3} nats/token; untrained is {untrained:F3}");

        // The EMA shadows start from the package: two updates at decay 0.999 move them by a hair.
        var saved = Checkpoint.Load(run);
        Assert.Equal(Path.GetFullPath(Package), saved.State.InitFrom);
        Assert.Equal(steps + 2, saved.State.EmaUpdates);
        var (package, _) = Safetensors.Read(Path.Combine(Package, "model.safetensors"));
        double maxDiff = 0;
        foreach (var (name, value) in saved.Ema)
        {
            var expected = package[name].ToFloats();
            var actual = value.data<float>().ToArray();
            for (int i = 0; i < actual.Length; i++) maxDiff = Math.Max(maxDiff, Math.Abs(actual[i] - expected[i]));
        }
        Assert.InRange(maxDiff, 0, 1e-4);

        // The warm-up restarts at the package's step: step+1 runs at lr / warmup.
        var lrs = File.ReadAllLines(Path.Combine(run, "metrics.jsonl")).Select(l => JsonNode.Parse(l)!.AsObject())
            .Where(r => (string?)r["kind"] == "train").ToDictionary(r => (long)r["step"]!, r => (double)r["lr"]!);
        Assert.Equal(config.Optim.Lr / config.Optim.Warmup, lrs[steps + 1], 12);
        Assert.Equal(2 * config.Optim.Lr / config.Optim.Warmup, lrs[steps + 2], 12);
    }

    [Fact]
    public void WarmStartTest_APackageContinuesUnderTheOtherParameterization()
    {
        // Same weights, the other output post-processing (score ↔ normalized), whichever the committed package has.
        var manifest = ModelPackage.Open(Package).Manifest;
        string from = manifest.Model.Parameterization, to = from == "score" ? "normalized" : "score";
        long steps = manifest.Provenance.Steps!.Value;
        using var t = new TempFolder();
        var data = PrepareData(t);
        var run = t.Combine("run");
        var log = new StringWriter();
        var trainer = new Sedd.Trainer.Training.Trainer { Output = log };
        var state = trainer.Run(Config(data, run, steps + 1, $"model.parameterization={to}", "training.time_sampling=stratified"),
            resume: false, CancellationToken.None, init: Package);

        Assert.Equal(steps + 1, state.Step);
        Assert.Contains($"parameterization {from} → {to}", log.ToString(), StringComparison.Ordinal);
        // The trained weights carry over: a fresh network scores the untrained loss exactly (zero output),
        // the package's weights well below it even under the other post-processing.
        using var train = TokenDataset.Open(data, DataSplit.Train);
        double untrained = ScoreEntropyLoss.UntrainedLossPerToken(train.VocabSize);
        Assert.True(trainer.StepLosses[steps + 1] < 0.9 * untrained,
            $"first {to} step from the {from} package scored {trainer.StepLosses[steps + 1]:F3} nats/token; untrained is {untrained:F3}");
        Assert.Equal(to, Checkpoint.Load(run).Config.Model.Parameterization);
    }

    [Theory]
    [InlineData("model.hidden_size=128", "gpt2-4096", "model.hidden_size")]
    [InlineData("model.time_independent=false", "gpt2-4096", "model.time_independent")]
    [InlineData("model.parameterization=score graph.type=uniform", "gpt2-4096", "graph.type")] // normalized needs the absorbing graph
    [InlineData("objective=ar", "gpt2-4096", "objective ar")]
    [InlineData("training.seed=7", "gpt2-512", "tokenizer")]
    public void WarmStartTest_APackageThatDoesNotFitIsOneLineBeforeAnyWork(string overrideKey, string tokenizer, string named)
    {
        using var t = new TempFolder();
        var data = PrepareData(t, tokenizer);
        var run = t.Combine("run");
        var error = Assert.Throws<SeddException>(() =>
            TinyTraining.NewTrainer().Run(Config(data, run, 5000, overrideKey.Split(' ')), resume: false, CancellationToken.None, init: Package));
        Assert.Equal(SeddException.BadInput, error.ExitCode);
        Assert.Contains(named, error.Message, StringComparison.Ordinal);
        Assert.DoesNotContain('\n', error.Message);
        Assert.Empty(Checkpoint.All(run));
    }

    [Fact]
    public void WarmStartTest_InitAndResumeTogetherIsAUsageError()
    {
        using var t = new TempFolder();
        var data = PrepareData(t);
        var error = Assert.Throws<SeddException>(() =>
            TinyTraining.NewTrainer().Run(Config(data, t.Combine("run"), 5000), resume: true, CancellationToken.None, init: Package));
        Assert.Equal(SeddException.Usage, error.ExitCode);
    }

    [Fact]
    public void WarmStartTest_AFolderThatIsNotAPackageIsOneLine()
    {
        using var t = new TempFolder();
        var data = PrepareData(t);
        var error = Assert.Throws<SeddException>(() =>
            TinyTraining.NewTrainer().Run(Config(data, t.Combine("run"), 5000), resume: false, CancellationToken.None, init: data));
        Assert.Equal(SeddException.BadInput, error.ExitCode);
        Assert.Contains("not a model package", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task WarmStartTest_AFifoAmongThePackagesFilesIsRefusedWithoutBlocking()
    {
        if (!OperatingSystem.IsLinux()) return;
        using var t = new TempFolder();
        var data = PrepareData(t);
        var package = t.Combine("package");
        Directory.CreateDirectory(package);
        foreach (var file in Directory.GetFiles(Package)) File.Copy(file, Path.Combine(package, Path.GetFileName(file)));
        File.Delete(Path.Combine(package, "model.safetensors"));
        Assert.Equal(0, Sedd.Tests.Shared.ToolProcess.RunExecutable("mkfifo", Path.Combine(package, "model.safetensors")).Code);
        var error = await Within.Seconds(30, "--init with a FIFO in the package", () => Assert.Throws<SeddException>(() =>
            TinyTraining.NewTrainer().Run(Config(data, t.Combine("run"), 5000), resume: false, CancellationToken.None, init: package)));
        Assert.Equal(SeddException.BadInput, error.ExitCode);
        Assert.Contains("FIFO", error.Message, StringComparison.Ordinal);
        Assert.False(Directory.Exists(t.Combine("run")));
    }
}
