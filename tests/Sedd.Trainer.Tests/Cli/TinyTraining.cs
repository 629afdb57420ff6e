using System.Globalization;
using Sedd.Trainer.Data;
using Sedd.Trainer.Tests.Data;
using Sedd.Trainer.Training;

namespace Sedd.Trainer.Tests.Cli;

/// <summary>
/// Tests that train in this process share libtorch's global RNG (initialisation, dropout) and thread
/// count; they run alone, after the parallel tests, so that a resumed run can be compared bit for bit.
/// </summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class TorchGlobalState
{
    public const string Name = "libtorch global state";
}

/// <summary>A tiny repetitive corpus and the tiny model configs the training tests run on.</summary>
static class TinyTraining
{
    public const string Tokenizer = "gpt2-512";

    static readonly string[] Sentences =
    [
        "the cat sat on the mat. ",
        "one two three four five. ",
    ];

    /// <summary>
    /// Writes eight documents into <c>corpus/</c>, each one short sentence repeated: a low-entropy corpus a
    /// tiny model fits in seconds. Returns the corpus folder.
    /// </summary>
    public static string WriteCorpus(TempFolder t)
    {
        for (int i = 0; i < 8; i++)
            t.Write(string.Create(CultureInfo.InvariantCulture, $"corpus/doc{i}.txt"),
                string.Concat(Enumerable.Repeat(Sentences[i % Sentences.Length], 40)));
        return t.Combine("corpus");
    }

    /// <summary><see cref="WriteCorpus"/>, prepared with gpt2-512 into <paramref name="name"/>; returns that folder.</summary>
    public static string PrepareCorpus(TempFolder t, string name = "data")
    {
        var corpus = WriteCorpus(t);
        new PrepareCommand(TextWriter.Null).Run(new PrepareOptions { Corpus = corpus, Output = t.Combine(name), Tokenizer = Tokenizer, CacheDir = t.Combine("cache") });
        return t.Combine(name);
    }

    /// <summary>
    /// Overrides of a ~40k-parameter model (hidden 32, 2 blocks, 2 heads, L = 32, batch 8) on one CPU
    /// thread, logging every step and never evaluating or checkpointing unless told.
    /// </summary>
    public static string[] Overrides(string data, string output, int steps) =>
    [
        $"data={data}", $"output={output}",
        "model.hidden_size=32", "model.n_blocks=2", "model.n_heads=2", "model.cond_dim=32", "model.length=32", "model.dropout=0",
        "optim.lr=3e-3", "optim.warmup=0",
        "training.batch_size=8", "training.threads=1", "training.device=cpu", "training.log_every=1", "training.eval_every=0",
        $"training.checkpoint_every={steps}", $"training.steps={steps}", "training.ema=0.99",
    ];

    /// <summary>The resolved config of <see cref="Overrides"/> plus <paramref name="more"/> (later keys win).</summary>
    public static TrainConfig Config(string data, string output, int steps, params string[] more) =>
        ConfigLoader.Load(null, [.. Overrides(data, output, steps), .. more]);

    /// <summary>A quiet trainer.</summary>
    public static Sedd.Trainer.Training.Trainer NewTrainer(Action<string>? fault = null) => new() { Output = TextWriter.Null, CheckpointFault = fault };
}
