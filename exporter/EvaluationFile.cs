using System.Text.Json.Nodes;
using Sedd.Runtime;
using Sedd.Runtime.IO;
using Sedd.Runtime.Package;

namespace Sedd.Exporter;

/// <summary>
/// Reads the JSON that <c>sedd-train eval --json FILE</c> writes (EvalResult, snake_case: objective,
/// split, samples, diffusion, standard_error, prior, perplexity, ...) into the manifest's evaluation record.
/// Every value that reaches the manifest is checked: a perplexity bound is a finite number ≥ 1, the
/// diffusion term and its standard error are finite and ≥ 0, the sample count is positive.
/// </summary>
public static class EvaluationFile
{
    /// <summary>Largest --eval file accepted (sedd-train writes a few hundred bytes).</summary>
    public const long MaxBytes = 1 << 20;

    /// <summary>The evaluation of <paramref name="path"/>; a missing file, key or a value out of range is a bad input.</summary>
    /// <param name="path">The eval JSON file.</param>
    /// <param name="cancel">Checked while reading.</param>
    public static EvaluationInfo Read(string path, CancellationToken cancel = default)
    {
        UserFiles.RequirePathArgument(path, "--eval");
        var text = UserFiles.ReadAllText(path, "--eval file", MaxBytes, cancel);
        JsonObject o;
        try { o = StrictJson.ParseObject(text, path); }
        catch (SeddException e) { throw Bad(path, e.Message.StartsWith(path, StringComparison.Ordinal) ? e.Message[path.Length..].TrimStart(':', ' ') : e.Message); }
        if (o["objective"] is JsonValue obj && obj.TryGetValue<string>(out var objective) && objective != "sedd")
            throw Bad(path, $"it evaluates objective '{objective}', not a SEDD model");
        var split = o["split"] is JsonValue s && s.TryGetValue<string>(out var sp) ? sp : throw Bad(path, "it has no \"split\"");
        if (split.Length is 0 or > 64 || !split.All(c => char.IsAsciiLetterOrDigit(c) || c is '-' or '_' or '.'))
            throw Bad(path, "\"split\" must be a split name such as test or valid");
        var perplexity = Number(o, "perplexity", path, 1) ?? throw Bad(path, "it has no numeric \"perplexity\"");
        int? samples = null;
        if (o["samples"] is { } k)
        {
            if (k is not JsonValue kv || !kv.TryGetValue<int>(out var n) || n < 1) throw Bad(path, $"\"samples\" is {k.ToJsonString()}, expected a whole number ≥ 1");
            samples = n;
        }
        return new EvaluationInfo
        {
            Split = split,
            PerplexityBound = perplexity,
            NatsPerToken = Number(o, "diffusion", path, 0),
            StandardError = Number(o, "standard_error", path, 0),
            Samples = samples,
        };
    }

    // An optional number: absent or null gives null; anything else must be finite and ≥ min.
    static double? Number(JsonObject o, string key, string path, double min)
    {
        if (o[key] is not { } node) return null;
        if (node is JsonValue v && v.TryGetValue<double>(out var d) && double.IsFinite(d) && d >= min) return d;
        throw Bad(path, $"\"{key}\" is {node.ToJsonString()}, expected a finite number ≥ {min}");
    }

    static SeddException Bad(string path, string why) => new($"--eval file {path} is not a sedd-train eval result: {why}", SeddException.BadInput);
}
