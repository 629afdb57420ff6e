using System.Text.Json.Nodes;
using Sedd.Trainer.Data;
using Sedd.Trainer.Diffusion;
using Sedd.Trainer.Tests.Cli;
using Sedd.Trainer.Tests.Data;
using Sedd.Trainer.Training;
using static TorchSharp.torch;

namespace Sedd.Trainer.Tests.Training;

/// <summary>The training loop (spec §7): it learns, it resumes bit for bit, it logs and plots.</summary>
[Collection(TorchGlobalState.Name)]
public class TrainerTest
{
    /// <summary>Mean loss of the last <paramref name="n"/> steps.</summary>
    static double Tail(Sedd.Trainer.Training.Trainer trainer, int n) => trainer.StepLosses.Values.TakeLast(n).Average();

    [Fact]
    public void TrainerTest_SeddOverfitsTinyCorpus()
    {
        const int Steps = 200;
        using var t = new TempFolder();
        var data = TinyTraining.PrepareCorpus(t);
        var trainer = TinyTraining.NewTrainer();
        var state = trainer.Run(TinyTraining.Config(data, t.Combine("run"), Steps), resume: false, CancellationToken.None);

        // spec §4.1: an untrained absorb model scores (1 − ε) ln V per token at every t.
        using var train = TokenDataset.Open(data, DataSplit.Train);
        double untrained = ScoreEntropyLoss.UntrainedLossPerToken(train.VocabSize);
        Assert.Equal(Steps, state.Step);
        Assert.Equal(Enumerable.Range(1, Steps).Select(s => (long)s), trainer.StepLosses.Keys);
        Assert.InRange(trainer.StepLosses[1], 0.85 * untrained, 1.15 * untrained);
        // A batch of 8 draws 8 times t, so single steps are noisy: average the last 30.
        double last = Tail(trainer, 30);
        Assert.True(last < 0.5 * untrained,
            $"SEDD loss after {Steps} steps is {last:F3} nats/token; untrained {untrained:F3}, expected below half. Every 10th step: " +
            string.Join(" ", trainer.StepLosses.Where(p => p.Key % 10 == 0).Select(p => p.Value.ToString("F2", System.Globalization.CultureInfo.InvariantCulture))));
    }

    [Fact]
    public void TrainerTest_NormalizedStratifiedOverfitsTinyCorpus()
    {
        // The recipe the default model is continued with: model.parameterization=normalized and
        // training.time_sampling=stratified, same loss, same loop.
        const int Steps = 150;
        using var t = new TempFolder();
        var data = TinyTraining.PrepareCorpus(t);
        string[] recipe = ["model.parameterization=normalized", "training.time_sampling=stratified"];
        var trainer = TinyTraining.NewTrainer();
        trainer.Run(TinyTraining.Config(data, t.Combine("run"), Steps, recipe), resume: false, CancellationToken.None);

        using var train = TokenDataset.Open(data, DataSplit.Train);
        double untrained = ScoreEntropyLoss.UntrainedLossPerToken(train.VocabSize);
        // (Untrained, log_softmax of the zero output is −ln V: the score parameterization's start, (1 − ε) ln V
        // per token in expectation; ScoreNetworkNormalizedTest checks that exactly, one noisy step cannot.)
        double last = Tail(trainer, 30);
        Assert.True(last < 0.5 * untrained, $"normalized + stratified loss after {Steps} steps is {last:F3} nats/token; untrained {untrained:F3}");
        var saved = Checkpoint.Load(t.Combine("run"));
        Assert.Equal("normalized", saved.Config.Model.Parameterization);
        Assert.Equal("stratified", saved.Config.Training.TimeSampling);

        // The option reaches the training loss: the same run with i.i.d. times draws other t from the same seed.
        var iid = TinyTraining.NewTrainer();
        iid.Run(TinyTraining.Config(data, t.Combine("iid"), 1, recipe[0]), resume: false, CancellationToken.None);
        Assert.NotEqual(iid.StepLosses[1], trainer.StepLosses[1]);
    }

    [Fact]
    public void TrainerTest_PatienceStopsAfterThatManyValidationsWithoutANewBest()
    {
        // A learning rate far too high makes the validation loss jump around, so new bests stop soon. Whatever
        // the exact curve, the run must end at the first validation that completes `patience` non-best ones
        // in a row, with a final checkpoint there and the best one kept.
        const int Patience = 2, Steps = 300;
        using var t = new TempFolder();
        var data = TinyTraining.PrepareCorpus(t);
        var run = t.Combine("run");
        var log = new StringWriter();
        var trainer = new Sedd.Trainer.Training.Trainer { Output = log };
        var state = trainer.Run(TinyTraining.Config(data, run, Steps, "model.parameterization=normalized", "optim.lr=0.05",
            "training.eval_every=2", "training.eval_batches=1", "training.checkpoint_every=1000", "training.keep_checkpoints=1",
            $"training.patience={Patience}"), resume: false, CancellationToken.None);

        var valid = Records(Path.Combine(run, "metrics.jsonl")).Where(r => (string?)r["kind"] == "valid").ToArray();
        int stop = -1, sinceBest = 0;
        for (int i = 0; i < valid.Length && stop < 0; i++)
        {
            sinceBest = (bool)valid[i]["best"]! ? 0 : sinceBest + 1;
            if (sinceBest == Patience) stop = i;
        }
        Assert.True(stop >= 0 && stop == valid.Length - 1, $"validations ({valid.Length}) went on past the first {Patience} non-best ones in a row (index {stop})");
        long stopStep = (long)valid[stop]["step"]!;
        Assert.True(stopStep < Steps, $"the run did not stop early (step {stopStep})");
        Assert.Equal(stopStep, state.Step);
        Assert.Equal(Patience, state.ValidationsSinceBest);
        Assert.Single(log.ToString().Split('\n'), l => l.StartsWith($"early stop at step {stopStep}:", StringComparison.Ordinal));

        // The final checkpoint is the stop step's; the best-validation one survives keep_checkpoints=1.
        var kept = Checkpoint.All(run).Select(Path.GetFileName).ToArray();
        Assert.Contains($"step-{stopStep:D8}", kept);
        Assert.Contains($"step-{state.BestValidStep:D8}", kept);
        Assert.Equal(stopStep, Checkpoint.Load(run).State.Step);
    }

    [Fact]
    public void TrainerTest_NonFiniteStepsAreCountedLoggedAndStopTheRun()
    {
        using var t = new TempFolder();
        var data = TinyTraining.PrepareCorpus(t);
        var run = t.Combine("run");
        // A learning rate of 1e30 sends the weights to ±1e30 after one update; LayerNorm then overflows.
        var config = TinyTraining.Config(data, run, 50, "optim.lr=1e30", "training.max_non_finite=3", "training.checkpoint_every=1000");
        var error = Assert.Throws<Sedd.Runtime.SeddException>(() => TinyTraining.NewTrainer().Run(config, resume: false, CancellationToken.None));
        Assert.Equal(Sedd.Runtime.SeddException.BadInput, error.ExitCode);
        Assert.Contains("non-finite", error.Message, StringComparison.Ordinal);

        var saved = Checkpoint.Load(run);
        Assert.Equal(3, saved.State.NonFinite);
        Assert.True(saved.State.Step < 50);
        var lines = File.ReadAllLines(Path.Combine(run, "metrics.jsonl"));
        Assert.Equal(3, lines.Count(l => l.Contains("\"kind\":\"nonfinite\"", StringComparison.Ordinal)));
    }

    [Fact]
    public void TrainerTest_SeddLearnsContextNotJustFrequencies()
    {
        // Twenty words in a fixed cycle: every word is equally frequent (unigram entropy ln 20 per word),
        // but each one is determined by its neighbours. A model that only learned frequencies stays near
        // ln 20 per word; one that reads its context goes far below.
        const int Steps = 300;
        using var t = new TempFolder();
        string[] words = [.. Enumerable.Range(0, 20).Select(i => " " + (char)('a' + i) + (char)('a' + (i * 7) % 20))];
        for (int d = 0; d < 8; d++)
            t.Write($"cycle/doc{d}.txt", string.Concat(Enumerable.Range(d * 3, 400).Select(i => words[i % words.Length])));
        new PrepareCommand(TextWriter.Null).Run(new PrepareOptions { Corpus = t.Combine("cycle"), Output = t.Combine("data"), Tokenizer = TinyTraining.Tokenizer, CacheDir = t.Combine("cache") });
        using var train = TokenDataset.Open(t.Combine("data"), DataSplit.Train);
        double tokensPerWord = (double)train.TokenCount / (train.DocumentCount * 400);
        double unigramPerToken = Math.Log(words.Length) / tokensPerWord;

        var trainer = TinyTraining.NewTrainer();
        // SEDD's gradient is noisy at small batches (spec §10, issue #15): at 8 sequences per step this
        // corpus stays at the frequency level for hundreds of steps; at 32 it learns the cycle.
        trainer.Run(TinyTraining.Config(t.Combine("data"), t.Combine("run"), Steps, "training.batch_size=32"), resume: false, CancellationToken.None);
        double last = Tail(trainer, 50);
        Assert.True(last < 0.75 * unigramPerToken,
            $"SEDD loss after {Steps} steps is {last:F3} nats/token; frequencies alone give about {unigramPerToken:F3}");
    }

    [Fact]
    public void TrainerTest_ArOverfitsTinyCorpus()
    {
        using var t = new TempFolder();
        var data = TinyTraining.PrepareCorpus(t);
        var trainer = TinyTraining.NewTrainer();
        trainer.Run(TinyTraining.Config(data, t.Combine("run"), 100, "objective=ar"), resume: false, CancellationToken.None);

        using var train = TokenDataset.Open(data, DataSplit.Train);
        double uniform = Math.Log(train.VocabSize);
        Assert.InRange(trainer.StepLosses[1], 0.85 * uniform, 1.15 * uniform); // an untrained AR model is near uniform
        double last = Tail(trainer, 10);
        Assert.True(last < 0.15 * uniform, $"AR loss after 100 steps is {last:F3} nats/token; ln V = {uniform:F3}");
    }

    [Theory]
    [InlineData("sedd")]
    [InlineData("ar")]
    public void TrainerTest_ResumeReproducesUninterruptedRun(string objective)
    {
        const int N = 12;
        using var t = new TempFolder();
        var data = TinyTraining.PrepareCorpus(t);
        // Dropout and the EMA on, validation every 3 steps (a divisor of N/2, so both runs validate at the
        // same steps), checkpoints every 3: every random stream and every piece of state must survive.
        string[] extra = [$"objective={objective}", "model.dropout=0.1", "training.checkpoint_every=3", "training.eval_every=3", "training.eval_batches=1", "training.keep_checkpoints=10"];

        var straight = TinyTraining.NewTrainer();
        var a = straight.Run(TinyTraining.Config(data, t.Combine("a"), N, extra), resume: false, CancellationToken.None);

        var first = TinyTraining.NewTrainer();
        first.Run(TinyTraining.Config(data, t.Combine("b"), N / 2, extra), resume: false, CancellationToken.None);
        var second = TinyTraining.NewTrainer();
        var b = second.Run(TinyTraining.Config(data, t.Combine("b"), N, extra), resume: true, CancellationToken.None);

        Assert.Equal(Enumerable.Range(N / 2 + 1, N / 2).Select(s => (long)s), second.StepLosses.Keys);
        foreach (var (step, loss) in second.StepLosses)
            Assert.True(BitConverter.DoubleToInt64Bits(straight.StepLosses[step]) == BitConverter.DoubleToInt64Bits(loss),
                $"{objective} step {step}: resumed loss {loss:R} differs from the uninterrupted run's {straight.StepLosses[step]:R}");
        // Losses of the first half agree too (same seed), so the comparison is not vacuous.
        foreach (var (step, loss) in first.StepLosses)
            Assert.Equal(straight.StepLosses[step], loss);
        Assert.Equal(a.Step, b.Step);
        Assert.Equal(a.Tokens, b.Tokens);
        Assert.Equal(a.EmaUpdates, b.EmaUpdates);
        Assert.Equal((a.Epoch, a.Cursor), (b.Epoch, b.Cursor));
        Assert.Equal(a.BestValid, b.BestValid);

        // Final weights, EMA and optimizer moments are identical.
        var ca = Checkpoint.Load(t.Combine("a"));
        var cb = Checkpoint.Load(t.Combine("b"));
        Assert.Equal(N, cb.State.Step);
        foreach (var (which, x, y) in new[] { ("model", ca.Model, cb.Model), ("ema", ca.Ema, cb.Ema), ("optimizer", ca.Optimizer, cb.Optimizer) })
        {
            Assert.Equal(x.Keys.Order(StringComparer.Ordinal), y.Keys.Order(StringComparer.Ordinal));
            foreach (var (name, tensorA) in x)
                Assert.True(tensorA.shape.SequenceEqual(y[name].shape) && tensorA.eq(y[name]).all().item<bool>(), $"{objective}: {which} tensor {name} differs after resuming");
        }
    }

    [Fact]
    public void TrainerTest_WritesMetricsAndPlotAndSupersedesRedoneLinesOnResume()
    {
        using var t = new TempFolder();
        var data = TinyTraining.PrepareCorpus(t);
        var run = t.Combine("run");
        string[] extra = ["training.checkpoint_every=4", "training.log_every=1", "training.eval_every=4", "training.eval_batches=1"];

        // The step-6 checkpoint write "crashes": metrics already hold steps 5 and 6, the latest checkpoint is step 4.
        var crashed = TinyTraining.NewTrainer(file => { if (file == "ema.safetensors" && Directory.GetDirectories(Checkpoint.Root(run), "step-*").Length == 1) throw new SimulatedCrash(); });
        Assert.Throws<SimulatedCrash>(() => crashed.Run(TinyTraining.Config(data, run, 6, extra), resume: false, CancellationToken.None));
        var metricsPath = Path.Combine(run, "metrics.jsonl");
        Assert.Contains(6L, Records(metricsPath).Where(r => (string?)r["kind"] == "valid").Select(r => (long)r["step"]!));
        Assert.EndsWith("step-00000004", Checkpoint.Latest(run), StringComparison.Ordinal);
        var crashedLog = File.ReadAllBytes(metricsPath);

        var resumed = TinyTraining.NewTrainer();
        resumed.Run(TinyTraining.Config(data, run, 8, extra), resume: true, CancellationToken.None);

        // The log was only appended to: the crashed run's lines are all still there, then a resume marker.
        Assert.True(File.ReadAllBytes(metricsPath).AsSpan().StartsWith(crashedLog), "metrics.jsonl was truncated or rewritten on resume");
        Assert.Contains(Records(metricsPath), r => (string?)r["kind"] == "resume" && (long)r["step"]! == 4);
        var records = MetricsLog.Records(metricsPath);
        Assert.All(records, r => Assert.True(r["step"] is JsonValue && r["kind"] is JsonValue, $"metrics line without step/kind: {r.ToJsonString()}"));
        var train = records.Where(r => (string?)r["kind"] == "train").ToArray();
        // Every step exactly once as readers see it: the crashed run's steps 5 and 6 are superseded by the redone ones.
        Assert.Equal(Enumerable.Range(1, 8).Select(s => (long)s), train.Select(r => (long)r["step"]!));
        foreach (var r in train.Where(r => (long)r["step"]! > 4))
            Assert.Equal(resumed.StepLosses[(long)r["step"]!], (double)r["nats_per_token"]!, 12);
        Assert.Equal([4L, 8L], records.Where(r => (string?)r["kind"] == "valid").Select(r => (long)r["step"]!));
        Assert.All(train, r => Assert.Equal(1, (int)r["window_steps"]!));
        Assert.Equal("train (each step)", LossPlot.TrainLegend(metricsPath));

        var png = File.ReadAllBytes(Path.Combine(run, "loss.png"));
        Assert.True(png.Length > 1000, $"loss.png has only {png.Length} bytes");
        Assert.Equal(new byte[] { 0x89, (byte)'P', (byte)'N', (byte)'G' }, png[..4]);
        Assert.Empty(Directory.GetFiles(run, "*.tmp*"));
    }

    static JsonObject[] Records(string path) =>
        [.. File.ReadAllLines(path).Where(l => l.Length > 0).Select(l => JsonNode.Parse(l)!.AsObject())];
}

/// <summary>Thrown by a checkpoint fault hook: the process "dies" mid-write.</summary>
sealed class SimulatedCrash : Exception
{
    public SimulatedCrash() : base("simulated crash during a checkpoint write") { }
}
