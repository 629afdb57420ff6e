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

    /// <summary>The shrunken development run's defaults (<c>--quick</c>).</summary>
    public static EvidenceOptions QuickDefaults() => new()
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
}
