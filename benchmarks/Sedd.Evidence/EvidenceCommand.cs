using System.Globalization;
using Cocona;
using Cocona.Application;
using Sedd.Runtime;

namespace Sedd.Evidence;

/// <summary>
/// The one command of <c>sedd-evidence</c>. Options left out keep the defaults of
/// <see cref="EvidenceOptions"/>, or of <see cref="EvidenceOptions.QuickDefaults"/> with <c>--quick</c>.
/// Paths are relative to the repository root (the folder holding Sedd.sln), whatever the working directory.
/// </summary>
sealed class EvidenceCommand(ICoconaAppContextAccessor context)
{
    [Command(Description = "Regenerate the evidence tables and plots (likelihood, quality against steps, speed, limits, infilling) and the README's evidence block.")]
    public int Evidence(
        [Option("out", Description = "output folder (default docs/results)")] string? @out = null,
        [Option("readme", Description = "README whose block between <!-- evidence:begin/end --> is rewritten ('' skips; default README.md)")] string? readme = null,
        [Option("sedd", Description = "default SEDD run; its best-validation checkpoint is evaluated (default runs/brown-absorb-default)")] string? sedd = null,
        [Option("sedd-equal", Description = "same-size SEDD run at the AR's batch (default runs/brown-absorb-5m)")] string? seddEqual = null,
        [Option("ar", Description = "AR baseline run (default runs/brown-ar-5m)")] string? ar = null,
        [Option("equal-step", Description = "step of the equal-steps comparison (default 750)")] long? equalStep = null,
        [Option("package", Description = "exported model package (default: the one package under models/)")] string? package = null,
        [Option("brown", Description = "prepared Brown tokens (default data/brown)")] string? brown = null,
        [Option("nlp-corpus", Description = "prepared nlp-corpus tokens, prepared if missing (default data/nlp-corpus)")] string? nlpCorpus = null,
        [Option("samples", Description = "K: time samples per sequence for the SEDD bound (default 8)")] int? samples = null,
        [Option("test-blocks", Description = "Brown test blocks scored, 0 = all (default 0)")] int? testBlocks = null,
        [Option("zero-shot-blocks", Description = "cap on nlp-corpus blocks (default 640)")] int? zeroShotBlocks = null,
        [Option("gen-samples", Description = "samples per sampler setting (default 16)")] int? genSamples = null,
        [Option("gen-batch", Description = "sequences per sampler run (default 8)")] int? genBatch = null,
        [Option("steps", Description = "comma-separated diffusion step counts (default 8,16,32,64,128,256)")] string? steps = null,
        [Option("threads", Description = "libtorch and ONNX Runtime threads (default 2)")] int? threads = null,
        [Option("seed", Description = "seed of every draw (default 1234)")] long? seed = null,
        [Option("quick", Description = "development run: K = 1, few blocks and samples, steps 8,16, no bf16")] bool quick = false)
    {
        var o = quick ? EvidenceOptions.QuickDefaults() : new EvidenceOptions();
        o = o with
        {
            Out = @out ?? o.Out,
            Readme = readme ?? o.Readme,
            Sedd = sedd ?? o.Sedd,
            SeddEqual = seddEqual ?? o.SeddEqual,
            Ar = ar ?? o.Ar,
            EqualStep = Positive("equal-step", equalStep) ?? o.EqualStep,
            Package = package ?? o.Package,
            Brown = brown ?? o.Brown,
            NlpCorpus = nlpCorpus ?? o.NlpCorpus,
            Samples = Positive("samples", samples) ?? o.Samples,
            TestBlocks = NonNegative("test-blocks", testBlocks) ?? o.TestBlocks,
            ZeroShotBlocks = Positive("zero-shot-blocks", zeroShotBlocks) ?? o.ZeroShotBlocks,
            GenSamples = Positive("gen-samples", genSamples) ?? o.GenSamples,
            GenBatch = Positive("gen-batch", genBatch) ?? o.GenBatch,
            Steps = steps is null ? o.Steps : StepList(steps),
            Threads = Positive("threads", threads) ?? o.Threads,
            Seed = NonNegative("seed", seed) ?? o.Seed,
        };
        EvidenceRunner.Run(o, context.Current?.CancellationToken ?? CancellationToken.None);
        return 0;
    }

    static T? Positive<T>(string name, T? value) where T : struct, System.Numerics.INumber<T> =>
        value is { } v && v <= T.Zero ? throw new SeddException($"--{name} must be positive, got {v}", SeddException.Usage) : value;

    static T? NonNegative<T>(string name, T? value) where T : struct, System.Numerics.INumber<T> =>
        value is { } v && v < T.Zero ? throw new SeddException($"--{name} must not be negative, got {v}", SeddException.Usage) : value;

    static IReadOnlyList<int> StepList(string text)
    {
        var parts = text.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        if (parts.Length == 0) throw new SeddException("--steps needs at least one step count", SeddException.Usage);
        return [.. parts.Select(p => int.TryParse(p, NumberStyles.Integer, CultureInfo.InvariantCulture, out int n) && n > 0
            ? n
            : throw new SeddException($"--steps needs positive integers, got '{p}'", SeddException.Usage))];
    }
}
