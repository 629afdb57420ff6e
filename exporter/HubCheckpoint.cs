using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;
using Sedd.Runtime;
using Sedd.Runtime.IO;

namespace Sedd.Exporter;

/// <summary>
/// A checkpoint in the authors' Hugging Face layout (goldens/checkpoints/README.md §1): a folder with
/// the whole training <c>config.json</c> and <c>model.safetensors</c> (plain state_dict names).
/// </summary>
/// <param name="Architecture">Sizes from the weights plus n_heads, scale_by_sigma and length from the config.</param>
/// <param name="Weights">Tensors by state_dict name.</param>
/// <param name="Metadata">Graph and noise facts for the ONNX metadata_props (keys prefixed <c>sedd.</c>).</param>
public sealed record HubCheckpoint(
    ScoreNetworkArchitecture Architecture,
    IReadOnlyDictionary<string, SafeTensor> Weights,
    IReadOnlyDictionary<string, string> Metadata)
{
    /// <summary>
    /// Reads <c>config.json</c> (tokens, graph.type, noise, model.{n_heads, scale_by_sigma, length, ...})
    /// and <c>model.safetensors</c> from <paramref name="folder"/>; the vocabulary is tokens + 1 for the
    /// absorbing graph (mask id = tokens), tokens for the uniform one. Unknown config keys are ignored.
    /// </summary>
    /// <param name="folder">The checkpoint folder.</param>
    /// <param name="maxLength">Longest sequence to export for; null takes <c>model.length</c>.</param>
    public static HubCheckpoint Load(string folder, int? maxLength = null)
    {
        var configPath = Path.Combine(folder, "config.json");
        var weightsPath = Path.Combine(folder, "model.safetensors");
        if (!File.Exists(configPath)) throw new SeddException($"{folder} has no config.json (expected the authors' hub layout)", SeddException.BadInput);
        if (!File.Exists(weightsPath)) throw new SeddException($"{folder} has no model.safetensors", SeddException.BadInput);

        JsonObject config;
        try { config = JsonNode.Parse(File.ReadAllText(configPath))!.AsObject(); }
        catch (Exception e) when (e is JsonException or InvalidOperationException)
        { throw new SeddException($"{configPath} is not a JSON object: {e.Message}", SeddException.BadInput); }

        int tokens = Int(config, configPath, "tokens");
        var graphType = Str(config, configPath, "graph", "type");
        int vocab = graphType switch
        {
            "absorb" => tokens + 1,
            "uniform" => tokens,
            _ => throw new SeddException($"{configPath}: graph.type is '{graphType}', expected 'absorb' or 'uniform'", SeddException.BadInput),
        };
        bool scale = Bool(config, configPath, "model", "scale_by_sigma");
        if (scale && graphType != "absorb")
            throw new SeddException($"{configPath}: model.scale_by_sigma is true for graph '{graphType}'; the reference allows it only for absorb", SeddException.BadInput);

        var (weights, _) = Safetensors.Read(weightsPath);
        var arch = ScoreNetworkArchitecture.Infer(weights, Int(config, configPath, "model", "n_heads"), scale,
            maxLength ?? Int(config, configPath, "model", "length"));
        if (arch.Vocab != vocab)
            throw new SeddException($"{weightsPath}: vocab_embed.embedding has {arch.Vocab} rows, config tokens {tokens} with graph '{graphType}' needs {vocab}", SeddException.BadInput);
        CheckSize(configPath, "hidden_size", Int(config, configPath, "model", "hidden_size"), arch.HiddenSize);
        CheckSize(configPath, "cond_dim", Int(config, configPath, "model", "cond_dim"), arch.CondDim);
        CheckSize(configPath, "n_blocks", Int(config, configPath, "model", "n_blocks"), arch.Blocks);

        var metadata = new Dictionary<string, string>(StringComparer.Ordinal)
        {
            ["sedd.graph"] = graphType,
            ["sedd.tokens"] = tokens.ToString(CultureInfo.InvariantCulture),
            ["sedd.noise"] = Str(config, configPath, "noise", "type"),
        };
        if (graphType == "absorb") metadata["sedd.mask_id"] = tokens.ToString(CultureInfo.InvariantCulture);
        if (config["noise"]?["sigma_min"] is JsonValue lo) metadata["sedd.noise.sigma_min"] = lo.ToJsonString();
        if (config["noise"]?["sigma_max"] is JsonValue hi) metadata["sedd.noise.sigma_max"] = hi.ToJsonString();
        return new HubCheckpoint(arch, weights, metadata);
    }

    static void CheckSize(string path, string key, int configured, int inferred)
    {
        if (configured != inferred)
            throw new SeddException($"{path}: model.{key} is {configured} but the weights have {inferred}", SeddException.BadInput);
    }

    static JsonNode Node(JsonObject config, string path, string[] keys)
    {
        JsonNode? n = config;
        foreach (var k in keys) n = n is JsonObject o ? o[k] : null;
        return n ?? throw new SeddException($"{path} has no {string.Join('.', keys)}", SeddException.BadInput);
    }

    // Numbers may be written 32, 32.0 or 3.2e1 (checkpoints/README.md §5): read as double, require an integer.
    static int Int(JsonObject config, string path, params string[] keys)
    {
        var n = Node(config, path, keys);
        if (n is JsonValue v && v.TryGetValue<double>(out var d) && d == Math.Floor(d) && d is >= 0 and <= int.MaxValue) return (int)d;
        throw new SeddException($"{path}: {string.Join('.', keys)} is {n.ToJsonString()}, expected a non-negative integer", SeddException.BadInput);
    }

    static bool Bool(JsonObject config, string path, params string[] keys)
    {
        var n = Node(config, path, keys);
        if (n is JsonValue v && v.TryGetValue<bool>(out var b)) return b;
        throw new SeddException($"{path}: {string.Join('.', keys)} is {n.ToJsonString()}, expected true or false", SeddException.BadInput);
    }

    static string Str(JsonObject config, string path, params string[] keys)
    {
        var n = Node(config, path, keys);
        if (n is JsonValue v && v.TryGetValue<string>(out var s)) return s;
        throw new SeddException($"{path}: {string.Join('.', keys)} is {n.ToJsonString()}, expected a string", SeddException.BadInput);
    }
}
