using System.Text.Json;
using System.Text.Json.Nodes;
using Sedd.Runtime;
using Sedd.Runtime.Package;

namespace Sedd.Exporter;

/// <summary>
/// Reads the JSON that <c>sedd-train eval --json FILE</c> writes (EvalResult, snake_case: objective,
/// split, samples, diffusion, standard_error, prior, perplexity, ...) into the manifest's evaluation record.
/// </summary>
public static class EvaluationFile
{
    /// <summary>The evaluation of <paramref name="path"/>; a missing file or key is a bad input.</summary>
    /// <param name="path">The eval JSON file.</param>
    public static EvaluationInfo Read(string path)
    {
        JsonObject o;
        try { o = JsonNode.Parse(File.ReadAllText(path)) as JsonObject ?? throw Bad(path, "it does not hold a JSON object"); }
        catch (JsonException e) { throw Bad(path, $"it is not valid JSON ({e.Message})"); }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException) { throw new SeddException($"cannot read --eval file {path}: {e.Message}", SeddException.BadInput); }
        if (o["objective"] is JsonValue obj && obj.TryGetValue<string>(out var objective) && objective != "sedd")
            throw Bad(path, $"it evaluates objective '{objective}', not a SEDD model");
        var split = o["split"] is JsonValue s && s.TryGetValue<string>(out var sp) ? sp : throw Bad(path, "it has no \"split\"");
        var perplexity = Number(o, "perplexity") ?? throw Bad(path, "it has no numeric \"perplexity\"");
        return new EvaluationInfo
        {
            Split = split,
            PerplexityBound = perplexity,
            NatsPerToken = Number(o, "diffusion"),
            StandardError = Number(o, "standard_error"),
            Samples = o["samples"] is JsonValue k && k.TryGetValue<int>(out var samples) ? samples : null,
        };
    }

    static double? Number(JsonObject o, string key) =>
        o[key] is JsonValue v && v.TryGetValue<double>(out var d) && double.IsFinite(d) ? d : null;

    static SeddException Bad(string path, string why) => new($"--eval file {path} is not a sedd-train eval result: {why}", SeddException.BadInput);
}
