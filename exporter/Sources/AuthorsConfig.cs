using System.Globalization;
using System.Text.Json.Nodes;
using Sedd.Runtime;
using Sedd.Runtime.IO;
using YamlDotNet.Core;
using YamlDotNet.Core.Events;
using YamlDotNet.RepresentationModel;

namespace Sedd.Exporter.Sources;

/// <summary>
/// The facts the exporter needs from the authors' training config (goldens/checkpoints/README.md §1, §5):
/// the hub <c>config.json</c> or a run's <c>.hydra/config.yaml</c>, which have the same keys. Numbers
/// are read as double whatever their spelling (20, 1e-08, 1.0e-08); unknown keys are ignored.
/// Both files are bounded before they are parsed (<see cref="MaxFileBytes"/>; YAML nesting
/// <see cref="MaxDepth"/> and alias expansion <see cref="MaxNodes"/>, see <see cref="YamlShape"/>), so a
/// crafted file is refused in one line instead of exhausting memory or the stack.
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
    /// <summary>Largest config file read (real ones are a few KB).</summary>
    public const long MaxFileBytes = 1 << 20;

    /// <summary>Deepest YAML/JSON nesting accepted (real configs nest 2 levels).</summary>
    public const int MaxDepth = 64;

    /// <summary>Most YAML nodes accepted, counting every alias as the nodes it stands for.</summary>
    public const long MaxNodes = 100_000;

    /// <summary>States D the network scores: V + 1 for absorb, V for uniform.</summary>
    public int Vocab => GraphType == "absorb" ? Tokens + 1 : Tokens;

    /// <summary>Reads a JSON config file (the hub layout).</summary>
    /// <param name="path">config.json.</param>
    /// <param name="cancel">Checked while reading.</param>
    public static AuthorsConfig ReadJson(string path, CancellationToken cancel = default) =>
        FromNode(StrictJson.ParseObject(ReadText(path, cancel), path), path);

    /// <summary>Reads a Hydra YAML config (a run's <c>.hydra/config.yaml</c>).</summary>
    /// <param name="path">config.yaml.</param>
    /// <param name="cancel">Checked while reading.</param>
    public static AuthorsConfig ReadYaml(string path, CancellationToken cancel = default) =>
        FromNode(ParseYaml(ReadText(path, cancel), path), path);

    /// <summary>A YAML mapping as JSON, after <see cref="YamlShape"/> has bounded it; anything else is a one-line bad input.</summary>
    /// <param name="text">The YAML text.</param>
    /// <param name="path">Name for messages.</param>
    public static JsonObject ParseYaml(string text, string path)
    {
        ArgumentNullException.ThrowIfNull(text);
        var yaml = new YamlStream();
        try
        {
            YamlShape(text, path);
            yaml.Load(new StringReader(text));
        }
        catch (SeddException) { throw; }
        catch (YamlException e) { throw new SeddException($"{path} is not valid YAML: {OneLine(e.Message)}", SeddException.BadInput); }
        catch (Exception e) when (e is ArgumentException or InvalidOperationException or FormatException or KeyNotFoundException)
        {
            // YamlDotNet reports a key given twice (and a few other malformations) this way.
            throw new SeddException($"{path} is not valid YAML: {OneLine(e.Message)}", SeddException.BadInput);
        }
        if (yaml.Documents.Count != 1 || yaml.Documents[0].RootNode is not YamlMappingNode root) throw NotObject(path);
        return (JsonObject)ToJson(root, path)!;
    }

    /// <summary>
    /// Walks the YAML event stream (YamlDotNet's parser is iterative) before any node is built: refuses
    /// nesting deeper than <see cref="MaxDepth"/> (a 30,000-level file would overflow the stack of a
    /// recursive reader) and more than <see cref="MaxNodes"/> nodes once aliases are expanded (a
    /// "billion laughs" file of 1 KB stands for 10⁹ nodes).
    /// </summary>
    static void YamlShape(string text, string path)
    {
        var expanded = new Dictionary<string, long>(StringComparer.Ordinal);
        var open = new List<(string? Anchor, long Nodes)>();
        long total = 0;
        void Add(long nodes)
        {
            if (open.Count == 0) total = Math.Min(long.MaxValue / 2, total + nodes);
            else open[^1] = (open[^1].Anchor, Math.Min(long.MaxValue / 2, open[^1].Nodes + nodes));
            if (total > MaxNodes || open.Count > 0 && open[^1].Nodes > MaxNodes)
                throw new SeddException($"{path} expands to more than {MaxNodes:N0} YAML nodes (through aliases); a config is a few hundred", SeddException.BadInput);
        }
        static string? Name(AnchorName anchor) => anchor.IsEmpty ? null : anchor.Value;
        var parser = new Parser(new StringReader(text));
        while (parser.MoveNext())
        {
            switch (parser.Current)
            {
                case MappingStart m: Open(Name(m.Anchor)); break;
                case SequenceStart q: Open(Name(q.Anchor)); break;
                case MappingEnd or SequenceEnd:
                    var (anchor, nodes) = open[^1];
                    open.RemoveAt(open.Count - 1);
                    Add(nodes);
                    if (anchor != null) expanded[anchor] = nodes;
                    break;
                case Scalar sc:
                    Add(1);
                    if (Name(sc.Anchor) is { } a) expanded[a] = 1;
                    break;
                case AnchorAlias alias:
                    Add(expanded.TryGetValue(alias.Value.Value, out var n) ? n : 1);
                    break;
            }
        }

        void Open(string? anchor)
        {
            if (open.Count >= MaxDepth)
                throw new SeddException($"{path} nests more than {MaxDepth} levels deep; a config nests 2", SeddException.BadInput);
            open.Add((anchor, 1));
        }
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

    static string ReadText(string path, CancellationToken cancel) => UserFiles.ReadAllText(path, "config", MaxFileBytes, cancel);

    static string OneLine(string message) => message.Split('\n', 2)[0].TrimEnd('\r');

    static SeddException NotObject(string path) => new($"{path} does not hold a config mapping", SeddException.BadInput);

    // YAML scalars carry no type: true/false become booleans, numbers doubles, the rest strings. The
    // depth is bounded by YamlShape; an alias is expanded (its size was bounded there too).
    static JsonNode? ToJson(YamlNode node, string path) => node switch
    {
        YamlMappingNode m => Mapping(m, path),
        YamlSequenceNode s => new JsonArray([.. s.Children.Select(c => ToJson(c, path))]),
        YamlScalarNode { Value: "true" or "True" } => JsonValue.Create(true),
        YamlScalarNode { Value: "false" or "False" } => JsonValue.Create(false),
        YamlScalarNode { Value: "null" or "~" or null } => null,
        // NaN and the infinities stay text (JSON has no such numbers): the key's reader refuses them by name.
        YamlScalarNode v when double.TryParse(v.Value, NumberStyles.Float, CultureInfo.InvariantCulture, out var d) && double.IsFinite(d) => JsonValue.Create(d),
        YamlScalarNode v => JsonValue.Create(v.Value),
        _ => null,
    };

    static JsonObject Mapping(YamlMappingNode m, string path)
    {
        var o = new JsonObject();
        foreach (var (key, value) in m.Children)
        {
            if (key is not YamlScalarNode { Value: { } name })
                throw new SeddException($"{path} has a {(key is YamlMappingNode ? "mapping" : key is YamlSequenceNode ? "list" : "missing")} as a key (at line {key.Start.Line}); config keys are plain names", SeddException.BadInput);
            if (o.ContainsKey(name))
                throw new SeddException($"{path} gives the key '{name}' twice (line {key.Start.Line})", SeddException.BadInput);
            o[name] = ToJson(value, path);
        }
        return o;
    }

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
