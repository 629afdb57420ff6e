using System.Globalization;
using Sedd.Runtime;

namespace Sedd.Evidence;

/// <summary>
/// Options of <c>sedd-evidence</c>. Paths are relative to the repository root (the folder holding
/// Sedd.sln), whatever the working directory. <c>--quick</c> shrinks every section for development
/// and tests: K = 1, a few blocks and samples, steps {8, 16}, no bf16.
/// </summary>
sealed record EvidenceOptions
{
    /// <summary>Output folder for evidence.md, evidence.json and the PNGs.</summary>
    public string Out { get; init; } = "docs/results";

    /// <summary>README whose evidence block (between the markers) is rewritten; empty to skip.</summary>
    public string Readme { get; init; } = "README.md";

    /// <summary>The default SEDD model's run (its best-validation checkpoint is evaluated).</summary>
    public string Sedd { get; init; } = "runs/brown-absorb-default";

    /// <summary>The same-size SEDD run trained with the AR baseline's batch (equal-steps comparison).</summary>
    public string SeddEqual { get; init; } = "runs/brown-absorb-5m";

    /// <summary>The autoregressive baseline's run.</summary>
    public string Ar { get; init; } = "runs/brown-ar-5m";

    /// <summary>Exported model package; null picks the one package under models/.</summary>
    public string? Package { get; init; }

    /// <summary>Prepared Brown tokens (train/valid/test).</summary>
    public string Brown { get; init; } = "data/brown";

    /// <summary>Prepared nlp-corpus tokens (zero-shot, all test); prepared when missing.</summary>
    public string NlpCorpus { get; init; } = "data/nlp-corpus";

    /// <summary>Step at which the two batch-32 runs are compared.</summary>
    public long EqualStep { get; init; } = 750;

    /// <summary>K: Monte-Carlo time samples per sequence for SEDD's bound.</summary>
    public int Samples { get; init; } = 8;

    /// <summary>Brown test blocks scored (0 = the whole split).</summary>
    public int TestBlocks { get; init; }

    /// <summary>Cap on nlp-corpus test blocks for the zero-shot row.</summary>
    public int ZeroShotBlocks { get; init; } = 640;

    /// <summary>N: samples per sampler setting (and AR samples, and real-text blocks).</summary>
    public int GenSamples { get; init; } = 16;

    /// <summary>Sequences per sampler run.</summary>
    public int GenBatch { get; init; } = 8;

    /// <summary>Diffusion step counts of the quality and speed sections.</summary>
    public IReadOnlyList<int> Steps { get; init; } = [8, 16, 32, 64, 128, 256];

    /// <summary>Steps of the infilling examples (analytic predictor).</summary>
    public int InfillSteps { get; init; } = 128;

    /// <summary>Infilling examples.</summary>
    public int InfillExamples { get; init; } = 5;

    /// <summary>Precisions of the training benchmark.</summary>
    public IReadOnlyList<string> Precisions { get; init; } = ["fp32", "bf16"];

    /// <summary>Timed and warm-up steps of the training benchmark.</summary>
    public int BenchSteps { get; init; } = 3;

    /// <summary>Warm-up steps of the training benchmark.</summary>
    public int BenchWarmup { get; init; } = 1;

    /// <summary>Threads for libtorch and ONNX Runtime.</summary>
    public int Threads { get; init; } = 2;

    /// <summary>Seed of every random draw (evaluation, sampling, infilling).</summary>
    public long Seed { get; init; } = 1234;

    /// <summary>Whether this is the shrunken development run.</summary>
    public bool Quick { get; init; }

    /// <summary>Usage text.</summary>
    public const string Help = """
        sedd-evidence: regenerates the evidence tables and plots (likelihood, quality vs steps, speed, limits, infilling).
        usage: dotnet run --project benchmarks/Sedd.Evidence -c Release -- [options]
          --out DIR            output folder (default docs/results)
          --readme FILE        README to update between <!-- evidence:begin/end --> ('' skips; default README.md)
          --sedd RUN           default SEDD run; its best-validation checkpoint (default runs/brown-absorb-default)
          --sedd-equal RUN     same-size SEDD run at the AR's batch (default runs/brown-absorb-5m)
          --ar RUN             AR baseline run (default runs/brown-ar-5m)
          --equal-step N       step of the equal-steps comparison (default 750)
          --package DIR        exported model package (default: the one package under models/)
          --brown DIR          prepared Brown tokens (default data/brown)
          --nlp-corpus DIR     prepared nlp-corpus tokens, prepared if missing (default data/nlp-corpus)
          --samples K          time samples per sequence for the SEDD bound (default 8)
          --test-blocks N      Brown test blocks scored, 0 = all (default 0)
          --zero-shot-blocks N cap on nlp-corpus blocks (default 640)
          --gen-samples N      samples per sampler setting (default 16)
          --gen-batch B        sequences per sampler run (default 8)
          --steps LIST         diffusion step counts (default 8,16,32,64,128,256)
          --threads T          libtorch and ONNX Runtime threads (default 2)
          --seed S             seed of every draw (default 1234)
          --quick              development run: K = 1, few blocks and samples, steps 8,16, no bf16
        Paths are relative to the repository root (the folder holding Sedd.sln).
        """;

    /// <summary>Parses the command line; null when help was asked for.</summary>
    /// <param name="args">Arguments.</param>
    public static EvidenceOptions? Parse(IReadOnlyList<string> args)
    {
        ArgumentNullException.ThrowIfNull(args);
        var o = new EvidenceOptions();
        bool quick = args.Contains("--quick");
        if (quick) o = QuickDefaults();
        for (int i = 0; i < args.Count; i++)
        {
            string name = args[i];
            if (name is "--help" or "-h") return null;
            if (name == "--quick") continue;
            string Value() => i + 1 < args.Count ? args[++i] : throw new SeddException($"option {name} needs a value", SeddException.Usage);
            o = name switch
            {
                "--out" => o with { Out = Value() },
                "--readme" => o with { Readme = Value() },
                "--sedd" => o with { Sedd = Value() },
                "--sedd-equal" => o with { SeddEqual = Value() },
                "--ar" => o with { Ar = Value() },
                "--equal-step" => o with { EqualStep = Positive(name, Value()) },
                "--package" => o with { Package = Value() },
                "--brown" => o with { Brown = Value() },
                "--nlp-corpus" => o with { NlpCorpus = Value() },
                "--samples" => o with { Samples = (int)Positive(name, Value()) },
                "--test-blocks" => o with { TestBlocks = (int)NonNegative(name, Value()) },
                "--zero-shot-blocks" => o with { ZeroShotBlocks = (int)Positive(name, Value()) },
                "--gen-samples" => o with { GenSamples = (int)Positive(name, Value()) },
                "--gen-batch" => o with { GenBatch = (int)Positive(name, Value()) },
                "--steps" => o with { Steps = [.. Value().Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).Select(s => (int)Positive(name, s))] },
                "--threads" => o with { Threads = (int)Positive(name, Value()) },
                "--seed" => o with { Seed = NonNegative(name, Value()) },
                _ => throw new SeddException($"unknown option '{name}' (see --help)", SeddException.Usage),
            };
        }
        if (o.Steps.Count == 0) throw new SeddException("--steps needs at least one step count", SeddException.Usage);
        return o;
    }

    static EvidenceOptions QuickDefaults() => new()
    {
        Quick = true,
        Samples = 1,
        TestBlocks = 16,
        ZeroShotBlocks = 16,
        GenSamples = 4,
        GenBatch = 4,
        Steps = [8, 16],
        InfillSteps = 16,
        InfillExamples = 2,
        Precisions = ["fp32"],
        BenchSteps = 1,
        BenchWarmup = 1,
    };

    static long Positive(string name, string text)
    {
        long v = NonNegative(name, text);
        return v > 0 ? v : throw new SeddException($"option {name} must be positive, got {text}", SeddException.Usage);
    }

    static long NonNegative(string name, string text) =>
        long.TryParse(text, NumberStyles.Integer, CultureInfo.InvariantCulture, out long v) && v >= 0 && v <= int.MaxValue
            ? v
            : throw new SeddException($"option {name} needs a non-negative integer, got '{text}'", SeddException.Usage);
}
