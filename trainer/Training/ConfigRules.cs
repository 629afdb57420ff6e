using System.Globalization;
using Sedd.Runtime;

namespace Sedd.Trainer.Training;

/// <summary>The JSON type a config key takes.</summary>
public enum ConfigKind
{
    /// <summary>A string from a fixed list.</summary>
    Choice,

    /// <summary>A non-empty path.</summary>
    Path,

    /// <summary>A whole number.</summary>
    Integer,

    /// <summary>A finite number.</summary>
    Real,

    /// <summary>true or false.</summary>
    Boolean,
}

/// <summary>
/// What one config key accepts: its type, and for numbers the allowed interval, for strings the allowed
/// choices. <see cref="Allowed"/> is the same text in error messages, <c>sedd-train config</c> and
/// docs/config.md.
/// </summary>
/// <param name="Key">Dotted key, e.g. <c>optim.beta1</c>.</param>
/// <param name="Kind">JSON type.</param>
/// <param name="Allowed">The allowed values in words, e.g. "0 ≤ x &lt; 1".</param>
/// <param name="Min">Smallest number allowed (numbers).</param>
/// <param name="Max">Largest number allowed (numbers).</param>
/// <param name="MinOpen">Whether <paramref name="Min"/> itself is excluded.</param>
/// <param name="MaxOpen">Whether <paramref name="Max"/> itself is excluded.</param>
/// <param name="Choices">Allowed strings (<see cref="ConfigKind.Choice"/>).</param>
/// <param name="MachineLimit">The maximum depends on this machine (errors state it; the documentation cannot).</param>
public sealed record ConfigRule(string Key, ConfigKind Kind, string Allowed, double Min = double.NegativeInfinity, double Max = double.PositiveInfinity,
    bool MinOpen = false, bool MaxOpen = false, IReadOnlyList<string>? Choices = null, bool MachineLimit = false)
{
    /// <summary>Whether a number lies in the allowed interval.</summary>
    /// <param name="x">A finite number.</param>
    public bool Contains(double x) => (MinOpen ? x > Min : x >= Min) && (MaxOpen ? x < Max : x <= Max);
}

/// <summary>
/// The validation table of <see cref="TrainConfig"/>: one rule per key, then the relations between keys.
/// Every key of the config must have a rule (a test holds the two together), so no value reaches
/// training unchecked. To add a key: add the property with its XML doc, then one line here.
/// </summary>
public static class ConfigRules
{
    const double Huge = 1e12;

    /// <summary>One rule per config key, in the order of <see cref="TrainConfig"/>.</summary>
    public static IReadOnlyList<ConfigRule> All { get; } =
    [
        Choice("objective", "sedd", "ar"),
        Path("data"),
        Path("output"),
        Choice("graph.type", "absorb", "uniform"),
        Choice("noise.type", "loglinear", "geometric"),
        Real("noise.sigma_min", 0, Huge, minOpen: true),
        Real("noise.sigma_max", 0, Huge, minOpen: true),
        Int("model.hidden_size", 1, 1 << 16),
        Int("model.cond_dim", 1, 1 << 16),
        Int("model.n_blocks", 1, 1024),
        Int("model.n_heads", 1, 1024),
        Real("model.dropout", 0, 1, maxOpen: true),
        Int("model.length", 2, 1 << 20),
        Bool("model.time_independent"),
        Choice("model.parameterization", "score", "normalized"),
        Real("optim.lr", 0, double.MaxValue, minOpen: true), // huge rates are legal; they end in the non-finite guard
        Real("optim.beta1", 0, 1, maxOpen: true),
        Real("optim.beta2", 0, 1, maxOpen: true),
        Real("optim.eps", 0, Huge, minOpen: true),
        Real("optim.weight_decay", 0, Huge),
        Int("optim.warmup", 0, int.MaxValue),
        Real("optim.grad_clip", 0, Huge, minOpen: true),
        Choice("optim.schedule", "constant", "cosine"),
        Real("optim.min_lr_ratio", 0, 1),
        Int("training.batch_size", 1, int.MaxValue),
        Int("training.accum", 1, int.MaxValue),
        Int("training.steps", 1, int.MaxValue),
        Real("training.max_seconds", 0, Huge),
        Real("training.ema", 0, 1, maxOpen: true),
        Int("training.seed", long.MinValue, long.MaxValue, "any whole number"),
        Choice("training.precision", "fp32", "bf16"),
        Choice("training.device", "auto", "cpu", "cuda"),
        Int("training.threads", 0, ThreadCount.Max, $"0 (one per core) … {ThreadCount.PerCoreLimit} per core") with { MachineLimit = true },
        Int("training.log_every", 1, int.MaxValue),
        Int("training.eval_every", 0, int.MaxValue, "0 (never) or more"),
        Int("training.eval_batches", 1, int.MaxValue),
        Int("training.checkpoint_every", 1, int.MaxValue),
        Int("training.keep_checkpoints", 1, int.MaxValue),
        Int("training.max_non_finite", 1, int.MaxValue),
        Choice("training.time_sampling", "uniform", "stratified"),
        Int("training.patience", 0, int.MaxValue, "0 (off) or more validations"),
    ];

    /// <summary>Rules that tie keys together: the keys involved and a check that returns the problem, or null.</summary>
    public static IReadOnlyList<(string[] Keys, Func<TrainConfig, string?> Check)> Relations { get; } =
    [
        (["noise.sigma_min", "noise.sigma_max"], c => c.Noise.SigmaMax > c.Noise.SigmaMin ? null
            : F($"noise.sigma_max ({c.Noise.SigmaMax}) must be larger than noise.sigma_min ({c.Noise.SigmaMin})")),
        (["model.hidden_size", "model.n_heads"], c => c.Model.HiddenSize % c.Model.NHeads == 0 && c.Model.HiddenSize / c.Model.NHeads % 2 == 0 ? null
            : F($"model.hidden_size {c.Model.HiddenSize} must split into {c.Model.NHeads} heads of even size (rotary embeddings rotate pairs)")),
        (["training.batch_size", "training.accum"], c => c.Training.BatchSize % c.Training.Accum == 0 ? null
            : F($"training.batch_size {c.Training.BatchSize} must be a multiple of training.accum {c.Training.Accum}")),
        (["model.parameterization", "graph.type"], c => !c.Model.Normalized || c.Objective != "sedd" || c.Graph.Type == "absorb" ? null
            : "model.parameterization=normalized needs graph.type=absorb (the uniform graph has no mask to normalise over); use score"),
        (["training.patience", "training.eval_every"], c => c.Training.Patience == 0 || c.Training.EvalEvery > 0 ? null
            : "training.patience counts validations, so it needs training.eval_every > 0"),
    ];

    static readonly Dictionary<string, ConfigRule> ByKey = All.ToDictionary(r => r.Key, StringComparer.Ordinal);

    /// <summary>The rule of <paramref name="key"/>, or null for a key without one.</summary>
    /// <param name="key">Dotted key.</param>
    public static ConfigRule? Of(string key) => ByKey.GetValueOrDefault(key);

    static ConfigRule Choice(string key, params string[] choices) =>
        new(key, ConfigKind.Choice, "one of " + string.Join(", ", choices), Choices: choices);

    static ConfigRule Path(string key) => new(key, ConfigKind.Path, "a non-empty path");

    static ConfigRule Bool(string key) => new(key, ConfigKind.Boolean, "true or false");

    static ConfigRule Int(string key, long min, long max, string? allowed = null) =>
        new(key, ConfigKind.Integer, allowed ?? Interval(min, max, false, false, whole: true), min, max);

    static ConfigRule Real(string key, double min, double max, bool minOpen = false, bool maxOpen = false) =>
        new(key, ConfigKind.Real, Interval(min, max, minOpen, maxOpen, whole: false), min, max, minOpen, maxOpen);

    // "an integer ≥ 1", "a number > 0", "a number with 0 ≤ x < 1".
    static string Interval(double min, double max, bool minOpen, bool maxOpen, bool whole)
    {
        string noun = whole ? "an integer" : "a number";
        bool hasMax = max < (whole ? int.MaxValue : Huge);
        string lo = minOpen ? ">" : "≥", hi = maxOpen ? "<" : "≤";
        if (!hasMax) return F($"{noun} {lo} {min}");
        return F($"{noun} with {min} {(minOpen ? "<" : "≤")} x {hi} {max}");
    }

    static string F(FormattableString s) => s.ToString(CultureInfo.InvariantCulture);
}
