using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.Json.Serialization;
using Sedd.Runtime;
using Sedd.Runtime.IO;

namespace Sedd.Trainer.Training;

/// <summary>
/// JSON file → <c>key=value</c> overrides → a validated <see cref="TrainConfig"/>. Keys are
/// snake_case like the reference's Hydra config (<c>training.batch_size</c>, <c>model.hidden_size</c>).
/// Every value is checked against <see cref="ConfigRules"/> before the record is built: an unknown key,
/// a value of the wrong type (an array, a string for a number, NaN or infinity) or out of range is one
/// line naming the key, what it takes and where the value came from. Mistakes in a config file or on the
/// command line are usage errors (exit 1); in the config.json of a run or checkpoint being read they are
/// bad input (exit 2).
/// </summary>
public static class ConfigLoader
{
    /// <summary>Largest config file read (a config is a few hundred bytes).</summary>
    public const long MaxConfigBytes = 1 << 20;

    const string CommandLine = "the command line";

    /// <summary>Serializer settings of config files (snake_case, unknown keys rejected).</summary>
    public static JsonSerializerOptions Options { get; } = new()
    {
        PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower,
        UnmappedMemberHandling = JsonUnmappedMemberHandling.Disallow,
        WriteIndented = true,
        ReadCommentHandling = JsonCommentHandling.Skip,
        AllowTrailingCommas = true,
    };

    static readonly JsonDocumentOptions DocumentOptions = new()
    {
        CommentHandling = JsonCommentHandling.Skip,
        AllowTrailingCommas = true,
        AllowDuplicateProperties = false, // "lr" twice: which one did the user mean?
    };

    /// <summary>A JSON object of config values and how errors in it are reported.</summary>
    /// <param name="Label">Where it came from, e.g. the file path.</param>
    /// <param name="Values">The object.</param>
    /// <param name="ExitCode">Exit code of a mistake in it: 1 (a config the user gives) or 2 (a run's own file).</param>
    sealed record Source(string Label, JsonObject Values, int ExitCode);

    /// <summary>Loads <paramref name="file"/> (optional), applies <paramref name="overrides"/>, validates.</summary>
    /// <param name="file">JSON config file, or null for the defaults.</param>
    /// <param name="overrides">Items of the form <c>section.key=value</c>.</param>
    public static TrainConfig Load(string? file, IEnumerable<string> overrides) =>
        Resolve(file is null ? null : ReadFile(UserFiles.RequirePathArgument(file, "--config"), SeddException.Usage), overrides);

    /// <summary>
    /// Loads the config.json a run or checkpoint holds (its mistakes are bad input, exit 2) and applies
    /// <paramref name="overrides"/> (usage errors, exit 1).
    /// </summary>
    /// <param name="file">A run's or checkpoint's config.json.</param>
    /// <param name="overrides">Items of the form <c>section.key=value</c>.</param>
    public static TrainConfig LoadRun(string file, IEnumerable<string> overrides) => Resolve(ReadFile(file, SeddException.BadInput), overrides);

    /// <summary>The resolved config as written beside checkpoints.</summary>
    /// <param name="config">Config.</param>
    public static string ToJson(TrainConfig config) => JsonSerializer.Serialize(config, Options);

    /// <summary>Parses and validates a resolved config written by <see cref="ToJson"/>; any mistake is bad input (exit 2).</summary>
    /// <param name="json">JSON text.</param>
    /// <param name="what">Name for errors.</param>
    public static TrainConfig FromJson(string json, string what) => Resolve(Parse(json, what, SeddException.BadInput), []);

    /// <summary>
    /// Whether <paramref name="json"/> is a config in sedd-train's format: one JSON object whose keys are all
    /// config keys and sections. Values are not checked, so a run's config stays recognisable when a
    /// rule changes or a limit of this machine differs from the one it was made on.
    /// </summary>
    /// <param name="json">JSON text.</param>
    public static bool IsConfig(string json)
    {
        try
        {
            var source = Parse(json, "config", SeddException.BadInput);
            Merge(Defaults(), source.Values, "", source, []);
            return source.Values.ContainsKey("objective") && source.Values.ContainsKey("model");
        }
        catch (SeddException) { return false; }
    }

    /// <summary>The keys <paramref name="overrides"/> set, in order (malformed items are skipped here and reported by <see cref="Load"/>).</summary>
    /// <param name="overrides">Items of the form <c>section.key=value</c>.</param>
    public static IReadOnlyList<string> KeysOf(IEnumerable<string> overrides) =>
        [.. overrides.Select(o => o.IndexOf('=', StringComparison.Ordinal) is var eq and > 0 ? o[..eq].Trim() : null).OfType<string>()];

    /// <summary>Every key of the config with its default value as JSON text, in declaration order.</summary>
    public static IReadOnlyList<(string Key, string Default)> Keys()
    {
        var list = new List<(string, string)>();
        void Walk(JsonObject o, string prefix)
        {
            foreach (var (k, v) in o)
                if (v is JsonObject sub) Walk(sub, prefix + k + ".");
                else list.Add((prefix + k, v?.ToJsonString() ?? "null"));
        }
        Walk(Defaults(), "");
        return list;
    }

    static JsonObject Defaults() => JsonSerializer.SerializeToNode(new TrainConfig(), Options)!.AsObject();

    static Source ReadFile(string file, int exitCode) =>
        Parse(UserFiles.ReadAllText(file, "config file", MaxConfigBytes), file, exitCode);

    static Source Parse(string json, string label, int exitCode)
    {
        JsonNode? node;
        try { node = JsonNode.Parse(json, documentOptions: DocumentOptions); }
        catch (JsonException e) { throw new SeddException($"config file {label} is not valid JSON: {e.Message}", exitCode); }
        if (node is not JsonObject obj) throw new SeddException($"config file {label} must hold one JSON object {{ ... }}", exitCode);
        return new Source(label, obj, exitCode);
    }

    static TrainConfig Resolve(Source? file, IEnumerable<string> overrides)
    {
        var root = Defaults();
        var origins = new Dictionary<string, Source>(StringComparer.Ordinal);
        if (file != null) Merge(root, file.Values, "", file, origins);
        var commandLine = new Source(CommandLine, [], SeddException.Usage);
        foreach (var item in overrides)
        {
            int eq = item.IndexOf('=', StringComparison.Ordinal);
            if (eq <= 0) throw new SeddException($"override '{item}' must look like section.key=value, e.g. training.steps=2000", SeddException.Usage);
            var key = item[..eq].Trim();
            Set(root, key, item[(eq + 1)..].Trim());
            origins[key] = commandLine;
        }

        foreach (var rule in ConfigRules.All)
        {
            // A limit of this machine (threads per core) binds what is asked now, not a run made on a bigger machine.
            var stored = origins.GetValueOrDefault(rule.Key)?.ExitCode == SeddException.BadInput;
            var checkedRule = rule.MachineLimit && stored ? rule with { Max = double.PositiveInfinity } : rule;
            if (Find(root, rule.Key, out var found) && Check(checkedRule, found) is { } problem)
                throw Problem(rule.Key, problem, origins);
        }

        TrainConfig config;
        try { config = root.Deserialize<TrainConfig>(Options)!; }
        catch (JsonException e) { throw new SeddException($"invalid config{Where(file)}: {e.Message}", file?.ExitCode ?? SeddException.Usage); }

        foreach (var (keys, check) in ConfigRules.Relations)
            if (check(config) is { } problem)
            {
                // A command-line value in the relation makes it the user's mistake now (1); otherwise the file's.
                var from = keys.Select(k => origins.GetValueOrDefault(k)).OfType<Source>().ToArray();
                int code = from.Length == 0 || from.Any(s => s.ExitCode == SeddException.Usage) ? SeddException.Usage : from[0].ExitCode;
                var label = from.Select(s => s.Label).FirstOrDefault(l => l != CommandLine);
                throw new SeddException(problem + (label is null ? "" : $" (in {label})"), code);
            }
        return config;
    }

    static void Merge(JsonObject into, JsonObject from, string prefix, Source source, Dictionary<string, Source> origins)
    {
        foreach (var (key, value) in from)
        {
            var path = prefix + key;
            if (!into.ContainsKey(key)) throw new SeddException(ConfigSuggestions.UnknownKey(path, Defaults()) + Where(source), source.ExitCode);
            if (into[key] is JsonObject sub)
            {
                if (value is not JsonObject subFrom)
                    throw new SeddException($"config key '{path}' is a section; expected an object {{ ... }} of its keys, got {Describe(value)}{Where(source)}", source.ExitCode);
                Merge(sub, subFrom, path + ".", source, origins);
            }
            else
            {
                into[key] = value?.DeepClone();
                origins[path] = source;
            }
        }
    }

    static void Set(JsonObject root, string path, string text)
    {
        var parts = path.Split('.');
        JsonObject? obj = root;
        for (int i = 0; i < parts.Length - 1 && obj != null; i++) obj = obj[parts[i]] as JsonObject;
        var last = parts[^1];
        if (obj is null || !obj.ContainsKey(last) || obj[last] is JsonObject)
            throw new SeddException(ConfigSuggestions.UnknownKey(path, Defaults()), SeddException.Usage);
        var rule = ConfigRules.Of(path);
        var c = CultureInfo.InvariantCulture;
        obj[last] = rule?.Kind switch
        {
            ConfigKind.Integer => long.TryParse(text, NumberStyles.AllowLeadingSign, c, out long l) ? JsonValue.Create(l) : throw Bad(path, text, rule),
            ConfigKind.Real => double.TryParse(text, NumberStyles.Float, c, out double d) && double.IsFinite(d) ? JsonValue.Create(d) : throw Bad(path, text, rule),
            ConfigKind.Boolean => bool.TryParse(text, out bool b) ? JsonValue.Create(b) : throw Bad(path, text, rule),
            _ => JsonValue.Create(text),
        };
    }

    static SeddException Bad(string path, string text, ConfigRule rule) =>
        new($"{path} must be {rule.Allowed}, got '{Shorten(text)}'", SeddException.Usage);

    /// <summary>Whether <paramref name="key"/> is in the config (its value may be JSON null, which is wrong for every key).</summary>
    static bool Find(JsonObject root, string key, out JsonNode? value)
    {
        JsonNode? node = root;
        foreach (var part in key.Split('.'))
        {
            if (node is not JsonObject o || !o.TryGetPropertyValue(part, out node))
            {
                value = null;
                return false;
            }
        }
        value = node;
        return true;
    }

    /// <summary>What is wrong with <paramref name="node"/> under <paramref name="rule"/>, or null.</summary>
    static string? Check(ConfigRule rule, JsonNode? node)
    {
        var value = node as JsonValue;
        var kind = value?.GetValueKind();
        switch (rule.Kind)
        {
            case ConfigKind.Boolean:
                return kind is JsonValueKind.True or JsonValueKind.False ? null : Describe(node);
            case ConfigKind.Choice or ConfigKind.Path:
                if (kind != JsonValueKind.String) return Describe(node);
                var s = value!.GetValue<string>();
                if (rule.Kind == ConfigKind.Path) return s.Trim().Length > 0 && !s.Contains('\0') ? null : Describe(node);
                return rule.Choices!.Contains(s, StringComparer.Ordinal) ? null : Describe(node);
            default:
                if (kind != JsonValueKind.Number) return Describe(node);
                double x;
                // Integers as written (1000, not 1e3 or 1000.0: the record's int fields read only those).
                if (value!.TryGetValue(out long l)) x = l;
                else if (rule.Kind == ConfigKind.Integer || !value.TryGetValue(out x) || !double.IsFinite(x)) return Describe(node);
                return rule.Contains(x) ? null : Describe(node);
        }
    }

    static SeddException Problem(string key, string got, Dictionary<string, Source> origins)
    {
        var source = origins.GetValueOrDefault(key);
        var rule = ConfigRules.Of(key)!;
        var limit = rule.MachineLimit ? string.Create(CultureInfo.InvariantCulture, $" (at most {rule.Max} on this machine)") : "";
        return new($"{key} must be {rule.Allowed}{limit}, got {got}{Where(source)}", source?.ExitCode ?? SeddException.Usage);
    }

    static string Where(Source? source) => source is null || source.Label == CommandLine ? "" : $" (in {source.Label})";

    /// <summary>A value as an error message shows it: numbers and strings as written, other JSON by its type.</summary>
    static string Describe(JsonNode? node) => node switch
    {
        null => "null",
        JsonArray => "an array",
        JsonObject => "an object",
        JsonValue v when v.GetValueKind() == JsonValueKind.String => "'" + Shorten(v.GetValue<string>()) + "'",
        _ => Shorten(node.ToJsonString()), // numbers as written: 1e3, 1.5, 1e400
    };

    static string Shorten(string s) => s.Length <= 60 ? s : s[..57] + "...";
}
