using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.Json.Serialization;
using Sedd.Runtime;

namespace Sedd.Trainer.Training;

/// <summary>
/// JSON file → <c>key=value</c> overrides → a validated <see cref="TrainConfig"/>. Keys are
/// snake_case like the reference's Hydra config (<c>training.batch_size</c>, <c>model.hidden_size</c>);
/// an unknown key is an error, never silently ignored.
/// </summary>
public static class ConfigLoader
{
    /// <summary>Serializer settings of config files (snake_case, unknown keys rejected).</summary>
    public static JsonSerializerOptions Options { get; } = new()
    {
        PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower,
        UnmappedMemberHandling = JsonUnmappedMemberHandling.Disallow,
        WriteIndented = true,
        ReadCommentHandling = JsonCommentHandling.Skip,
        AllowTrailingCommas = true,
    };

    /// <summary>Loads <paramref name="file"/> (optional), applies <paramref name="overrides"/>, validates.</summary>
    /// <param name="file">JSON config file, or null for the defaults.</param>
    /// <param name="overrides">Items of the form <c>section.key=value</c>.</param>
    public static TrainConfig Load(string? file, IEnumerable<string> overrides)
    {
        var node = JsonSerializer.SerializeToNode(new TrainConfig(), Options)!.AsObject();
        if (file != null)
        {
            if (!File.Exists(file)) throw new SeddException($"config file {file} not found", SeddException.BadInput);
            JsonNode? user;
            try { user = JsonNode.Parse(File.ReadAllText(file), documentOptions: new() { CommentHandling = JsonCommentHandling.Skip, AllowTrailingCommas = true }); }
            catch (JsonException e) { throw new SeddException($"config file {file} is not valid JSON: {e.Message}", SeddException.BadInput); }
            if (user is not JsonObject obj) throw new SeddException($"config file {file} must hold a JSON object", SeddException.BadInput);
            Merge(node, obj, "");
        }
        foreach (var item in overrides)
        {
            int eq = item.IndexOf('=', StringComparison.Ordinal);
            if (eq <= 0) throw new SeddException($"override '{item}' must look like section.key=value", SeddException.Usage);
            Set(node, item[..eq].Trim(), item[(eq + 1)..].Trim());
        }
        TrainConfig config;
        try { config = node.Deserialize<TrainConfig>(Options)!; }
        catch (JsonException e) { throw new SeddException($"invalid config: {e.Message}", SeddException.BadInput); }
        Validate(config);
        return config;
    }

    /// <summary>The resolved config as written beside checkpoints.</summary>
    /// <param name="config">Config.</param>
    public static string ToJson(TrainConfig config) => JsonSerializer.Serialize(config, Options);

    /// <summary>Parses a resolved config written by <see cref="ToJson"/>.</summary>
    /// <param name="json">JSON text.</param>
    /// <param name="what">Name for errors.</param>
    public static TrainConfig FromJson(string json, string what)
    {
        try { return JsonSerializer.Deserialize<TrainConfig>(json, Options)!; }
        catch (JsonException e) { throw new SeddException($"{what} holds an invalid config: {e.Message}", SeddException.BadInput); }
    }

    static void Merge(JsonObject into, JsonObject from, string prefix)
    {
        foreach (var (key, value) in from)
        {
            var path = prefix + key;
            if (!into.ContainsKey(key)) throw new SeddException($"unknown config key '{path}'", SeddException.Usage);
            if (into[key] is JsonObject sub && value is JsonObject subFrom) Merge(sub, subFrom, path + ".");
            else if (into[key] is JsonObject) throw new SeddException($"config key '{path}' is a section, not a value", SeddException.Usage);
            else into[key] = value?.DeepClone();
        }
    }

    static void Set(JsonObject root, string path, string text)
    {
        var parts = path.Split('.');
        var obj = root;
        for (int i = 0; i < parts.Length - 1; i++)
            obj = obj[parts[i]] as JsonObject ?? throw new SeddException($"unknown config key '{path}'", SeddException.Usage);
        var last = parts[^1];
        if (!obj.ContainsKey(last) || obj[last] is JsonObject) throw new SeddException($"unknown config key '{path}'", SeddException.Usage);
        obj[last] = obj[last] switch
        {
            JsonValue v when v.GetValueKind() == JsonValueKind.String => JsonValue.Create(text),
            JsonValue v when v.GetValueKind() is JsonValueKind.True or JsonValueKind.False =>
                bool.TryParse(text, out bool b) ? JsonValue.Create(b) : throw Bad(path, text, "true or false"),
            _ => double.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out double d)
                ? (d == Math.Floor(d) && Math.Abs(d) < 1e15 && !text.Contains('.', StringComparison.Ordinal) && !text.Contains('e', StringComparison.OrdinalIgnoreCase)
                    ? JsonValue.Create((long)d) : JsonValue.Create(d))
                : throw Bad(path, text, "a number"),
        };
    }

    static SeddException Bad(string path, string text, string expected) =>
        new($"config key '{path}' expects {expected}, got '{text}'", SeddException.Usage);

    static void Validate(TrainConfig c)
    {
        static void Require(bool ok, string message) { if (!ok) throw new SeddException(message, SeddException.Usage); }
        Require(c.Objective is "sedd" or "ar", $"objective must be sedd or ar, got '{c.Objective}'");
        Require(c.Graph.Type is "absorb" or "uniform", $"graph.type must be absorb or uniform, got '{c.Graph.Type}'");
        Require(c.Noise.Type is "loglinear" or "geometric", $"noise.type must be loglinear or geometric, got '{c.Noise.Type}'");
        Require(c.Noise.Type != "geometric" || (c.Noise.SigmaMin > 0 && c.Noise.SigmaMax > c.Noise.SigmaMin), "noise needs 0 < sigma_min < sigma_max");
        var m = c.Model;
        Require(m.HiddenSize > 0 && m.NBlocks > 0 && m.NHeads > 0 && m.CondDim > 0, "model sizes must be positive");
        Require(m.HiddenSize % m.NHeads == 0 && m.HeadDim % 2 == 0, $"model.hidden_size {m.HiddenSize} must split into {m.NHeads} heads of even size");
        Require(m.Length >= 2, $"model.length must be at least 2, got {m.Length}");
        Require(m.Dropout is >= 0 and < 1, $"model.dropout must be in [0, 1), got {m.Dropout}");
        var t = c.Training;
        Require(t.BatchSize > 0 && t.Accum > 0 && t.BatchSize % t.Accum == 0, $"training.batch_size {t.BatchSize} must be a positive multiple of training.accum {t.Accum}");
        Require(t.Steps > 0, "training.steps must be positive");
        Require(t.Precision is "fp32" or "bf16", $"training.precision must be fp32 or bf16, got '{t.Precision}'");
        Require(t.Device is "auto" or "cpu" or "cuda", $"training.device must be auto, cpu or cuda, got '{t.Device}'");
        Require(t.Ema is >= 0 and < 1, "training.ema must be in [0, 1)");
        Require(t.CheckpointEvery > 0 && t.LogEvery > 0 && t.EvalEvery >= 0 && t.MaxNonFinite > 0 && t.KeepCheckpoints > 0, "training intervals must be positive");
        Require(c.Optim.Lr > 0 && c.Optim.Warmup >= 0 && c.Optim.GradClip > 0, "optim.lr and optim.grad_clip must be positive, optim.warmup non-negative");
        // Training recipe (time sampling, parameterization, early stopping).
        Require(t.TimeSampling is "uniform" or "stratified", $"training.time_sampling must be uniform or stratified, got '{t.TimeSampling}'");
        Require(m.Parameterization is "score" or "normalized", $"model.parameterization must be score or normalized, got '{m.Parameterization}'");
        Require(!m.Normalized || c.Objective != "sedd" || c.Graph.Type == "absorb", "model.parameterization=normalized needs graph.type=absorb (the uniform graph has no mask to normalise over); use score");
        Require(t.Patience >= 0, $"training.patience must be 0 (off) or a positive number of validations, got {t.Patience}");
        Require(t.Patience == 0 || t.EvalEvery > 0, "training.patience counts validations, so it needs training.eval_every > 0");
    }
}
