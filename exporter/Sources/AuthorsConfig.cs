using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;
using Sedd.Runtime;
using YamlDotNet.Core;
using YamlDotNet.RepresentationModel;

namespace Sedd.Exporter.Sources;

/// <summary>
/// The facts the exporter needs from the authors' training config (goldens/checkpoints/README.md §1, §5):
/// the hub <c>config.json</c> or a run's <c>.hydra/config.yaml</c>, which have the same keys. Numbers
/// are read as double whatever their spelling (20, 1e-08, 1.0e-08); unknown keys are ignored.
/// </summary>
/// <param name="Path">Where the config was read, for messages.</param>
/// <param name="GraphType">"absorb" or "uniform".</param>
/// <param name="Tokens">Real tokens V (the absorbing mask id is V).</param>
/// <param name="NoiseType">"loglinear" or "geometric".</param>
/// <param name="SigmaMin">Geometric σ_min (the log-linear schedule ignores it).</param>
/// <param name="SigmaMax">Geometric σ_max.</param>
/// <param name="HiddenSize">model.hidden_size.</param>
/// <param name="CondDim">model.cond_dim.</param>
/// <param name="Blocks">model.n_blocks.</param>
/// <param name="Heads">model.n_heads.</param>
/// <param name="ScaleBySigma">model.scale_by_sigma.</param>
/// <param name="Length">model.length, the trained block length.</param>
public sealed record AuthorsConfig(string Path, string GraphType, int Tokens, string NoiseType, double SigmaMin, double SigmaMax,
    int HiddenSize, int CondDim, int Blocks, int Heads, bool ScaleBySigma, int Length)
{
    /// <summary>States D the network scores: V + 1 for absorb, V for uniform.</summary>
    public int Vocab => GraphType == "absorb" ? Tokens + 1 : Tokens;

    /// <summary>Reads a JSON config file (the hub layout).</summary>
    /// <param name="path">config.json.</param>
    public static AuthorsConfig ReadJson(string path)
    {
        try { return FromNode(JsonNode.Parse(ReadText(path)) as JsonObject ?? throw NotObject(path), path); }
        catch (JsonException e) { throw new SeddException($"{path} is not valid JSON: {e.Message}", SeddException.BadInput); }
    }

    /// <summary>Reads a Hydra YAML config (a run's <c>.hydra/config.yaml</c>).</summary>
    /// <param name="path">config.yaml.</param>
    public static AuthorsConfig ReadYaml(string path)
    {
        var yaml = new YamlStream();
        try { yaml.Load(new StringReader(ReadText(path))); }
        catch (YamlException e) { throw new SeddException($"{path} is not valid YAML: {e.Message.Split('\n')[0]}", SeddException.BadInput); }
        if (yaml.Documents.Count != 1 || yaml.Documents[0].RootNode is not YamlMappingNode root) throw NotObject(path);
        return FromNode((JsonObject)ToJson(root)!, path);
    }

    /// <summary>Reads the keys of a parsed config.</summary>
    /// <param name="config">Config object.</param>
    /// <param name="path">Name for messages.</param>
    public static AuthorsConfig FromNode(JsonObject config, string path)
    {
        ArgumentNullException.ThrowIfNull(config);
        var graph = Str(config, path, "graph", "type");
        if (graph is not ("absorb" or "uniform"))
            throw new SeddException($"{path}: graph.type is '{graph}', expected 'absorb' or 'uniform'", SeddException.BadInput);
        var noise = Str(config, path, "noise", "type");
        if (noise is not ("loglinear" or "geometric"))
            throw new SeddException($"{path}: noise.type is '{noise}', expected 'loglinear' or 'geometric'", SeddException.BadInput);
        bool scale = Bool(config, path, "model", "scale_by_sigma");
        if (scale && graph != "absorb")
            throw new SeddException($"{path}: model.scale_by_sigma is true for graph '{graph}'; the reference allows it only for absorb", SeddException.BadInput);
        double lo = config["noise"]?["sigma_min"] is JsonNode ? Num(config, path, "noise", "sigma_min") : 1e-4;
        double hi = config["noise"]?["sigma_max"] is JsonNode ? Num(config, path, "noise", "sigma_max") : 20;
        if (noise == "geometric" && !(lo > 0 && hi > lo))
            throw new SeddException($"{path}: a geometric schedule needs 0 < sigma_min < sigma_max, found {lo} and {hi}", SeddException.BadInput);
        return new AuthorsConfig(path, graph, Int(config, path, "tokens"), noise, lo, hi,
            Int(config, path, "model", "hidden_size"), Int(config, path, "model", "cond_dim"), Int(config, path, "model", "n_blocks"),
            Int(config, path, "model", "n_heads"), scale, Int(config, path, "model", "length"));
    }

    /// <summary>Fails when the config and the sizes read from the weights disagree.</summary>
    /// <param name="a">Architecture inferred from the weights.</param>
    /// <param name="weightsPath">Weights file, for the message.</param>
    public void CheckAgainst(ScoreNetworkArchitecture a, string weightsPath)
    {
        ArgumentNullException.ThrowIfNull(a);
        if (a.Vocab != Vocab)
            throw new SeddException($"{weightsPath}: vocab_embed.embedding has {a.Vocab} rows, config tokens {Tokens} with graph '{GraphType}' needs {Vocab}", SeddException.BadInput);
        Same("hidden_size", HiddenSize, a.HiddenSize);
        Same("cond_dim", CondDim, a.CondDim);
        Same("n_blocks", Blocks, a.Blocks);
    }

    void Same(string key, int configured, int inferred)
    {
        if (configured != inferred)
            throw new SeddException($"{Path}: model.{key} is {configured} but the weights have {inferred}", SeddException.BadInput);
    }

    static string ReadText(string path)
    {
        try { return File.ReadAllText(path); }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException) { throw new SeddException($"cannot read {path}: {e.Message}", SeddException.BadInput); }
    }

    static SeddException NotObject(string path) => new($"{path} does not hold a config mapping", SeddException.BadInput);

    // YAML scalars carry no type: true/false become booleans, numbers doubles, the rest strings.
    static JsonNode? ToJson(YamlNode node) => node switch
    {
        YamlMappingNode m => new JsonObject(m.Children.Select(p => KeyValuePair.Create(((YamlScalarNode)p.Key).Value ?? "", ToJson(p.Value)))),
        YamlSequenceNode s => new JsonArray([.. s.Children.Select(ToJson)]),
        YamlScalarNode { Value: "true" or "True" } => JsonValue.Create(true),
        YamlScalarNode { Value: "false" or "False" } => JsonValue.Create(false),
        YamlScalarNode { Value: "null" or "~" or null } => null,
        YamlScalarNode v when double.TryParse(v.Value, NumberStyles.Float, CultureInfo.InvariantCulture, out var d) => JsonValue.Create(d),
        YamlScalarNode v => JsonValue.Create(v.Value),
        _ => null,
    };

    internal static JsonNode Node(JsonObject config, string path, string[] keys)
    {
        JsonNode? n = config;
        foreach (var k in keys) n = n is JsonObject o ? o[k] : null;
        return n ?? throw new SeddException($"{path} has no {string.Join('.', keys)}", SeddException.BadInput);
    }

    internal static double Num(JsonObject config, string path, params string[] keys)
    {
        var n = Node(config, path, keys);
        if (n is JsonValue v && v.TryGetValue<double>(out var d) && double.IsFinite(d)) return d;
        throw new SeddException($"{path}: {string.Join('.', keys)} is {n.ToJsonString()}, expected a number", SeddException.BadInput);
    }

    internal static int Int(JsonObject config, string path, params string[] keys)
    {
        var n = Node(config, path, keys);
        if (n is JsonValue v && v.TryGetValue<double>(out var d) && d == Math.Floor(d) && d is >= 0 and <= int.MaxValue) return (int)d;
        throw new SeddException($"{path}: {string.Join('.', keys)} is {n.ToJsonString()}, expected a non-negative integer", SeddException.BadInput);
    }

    internal static bool Bool(JsonObject config, string path, params string[] keys)
    {
        var n = Node(config, path, keys);
        if (n is JsonValue v && v.TryGetValue<bool>(out var b)) return b;
        throw new SeddException($"{path}: {string.Join('.', keys)} is {n.ToJsonString()}, expected true or false", SeddException.BadInput);
    }

    internal static string Str(JsonObject config, string path, params string[] keys)
    {
        var n = Node(config, path, keys);
        if (n is JsonValue v && v.TryGetValue<string>(out var s)) return s;
        throw new SeddException($"{path}: {string.Join('.', keys)} is {n.ToJsonString()}, expected a string", SeddException.BadInput);
    }
}
