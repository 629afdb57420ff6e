using System.Text.Json.Nodes;
using Sedd.Runtime;
using Sedd.Runtime.IO;

namespace Sedd.Exporter.Sources;

/// <summary>
/// A checkpoint of <c>sedd-train</c> (trainer/Training/Checkpoint.cs): <c>step-N/</c> with
/// <c>config.json</c> (the resolved TrainConfig, snake_case), <c>state.json</c> (format_version 1,
/// step, tokens), <c>ema.safetensors</c> and <c>model.safetensors</c>. Read here with plain JSON and
/// the framework-free safetensors reader, so exporting needs no libtorch.
/// </summary>
public static class TrainerCheckpointSource
{
    const string StateFile = "state.json", ConfigFile = "config.json", EmaFile = "ema.safetensors", ModelFile = "model.safetensors";

    /// <summary>True when <paramref name="folder"/> is a trainer checkpoint or a run folder holding one.</summary>
    /// <param name="folder">Candidate folder.</param>
    public static bool Recognizes(string folder) =>
        FileKinds.Of(Path.Combine(folder, StateFile)) != FileKind.Missing || Directory.Exists(Path.Combine(folder, "checkpoints"));

    /// <summary>Reads the checkpoint (or a run folder's latest one).</summary>
    /// <param name="folder">Checkpoint or run folder.</param>
    /// <param name="weights">"ema" (default) or "online".</param>
    /// <param name="maxLength">Export length; null = the trained length.</param>
    /// <param name="corpus">Corpus name when the data folder's meta.json is not found.</param>
    /// <param name="cancel">Checked while reading.</param>
    public static ExportSource Load(string folder, string weights, int? maxLength, string? corpus, CancellationToken cancel = default)
    {
        if (FileKinds.Of(Path.Combine(folder, StateFile)) == FileKind.Missing) folder = Latest(folder);
        foreach (var f in new[] { StateFile, ConfigFile, weights == "ema" ? EmaFile : ModelFile })
            if (FileKinds.Of(Path.Combine(folder, f)) == FileKind.Missing)
                throw new SeddException($"checkpoint {folder} is incomplete: {f} is missing", SeddException.BadInput);

        var statePath = Path.Combine(folder, StateFile);
        var state = ReadObject(statePath, cancel);
        int version = state["format_version"] is JsonValue v && v.TryGetValue<int>(out var n) ? n : -1;
        if (version != 1) throw new SeddException($"checkpoint {folder} has state.json format version {(version < 0 ? "(none)" : version)}; this exporter reads version 1", SeddException.BadInput);

        var configPath = Path.Combine(folder, ConfigFile);
        var config = ReadObject(configPath, cancel);
        var objective = config["objective"] is JsonValue o && o.TryGetValue<string>(out var s) ? s : "sedd";
        if (objective != "sedd") throw new SeddException($"{configPath}: objective is '{objective}'; only SEDD score networks can be exported", SeddException.BadInput);
        var graph = AuthorsConfig.Str(config, configPath, "graph", "type");
        if (graph is not ("absorb" or "uniform")) throw new SeddException($"{configPath}: graph.type is '{graph}', expected absorb or uniform", SeddException.BadInput);
        var noiseType = AuthorsConfig.Str(config, configPath, "noise", "type");
        if (noiseType is not ("loglinear" or "geometric")) throw new SeddException($"{configPath}: noise.type is '{noiseType}', expected loglinear or geometric", SeddException.BadInput);
        int length = AuthorsConfig.Int(config, configPath, "model", "length");
        bool timeIndependent = config["model"]?["time_independent"] is JsonValue ti && ti.TryGetValue<bool>(out var b) && b;
        // Checkpoints written before the key existed are "score".
        var parameterization = config["model"]?["parameterization"] is JsonNode ? AuthorsConfig.Str(config, configPath, "model", "parameterization") : "score";
        if (parameterization is not ("score" or "normalized") || parameterization == "normalized" && graph != "absorb")
            throw new SeddException($"{configPath}: model.parameterization is '{parameterization}', expected score, or normalized with graph.type absorb", SeddException.BadInput);

        var weightsPath = Path.Combine(folder, weights == "ema" ? EmaFile : ModelFile);
        var (tensors, metadata) = Safetensors.Read(weightsPath, cancel);
        if (metadata.TryGetValue("format", out var format) && format != "sedd-checkpoint")
            throw new SeddException($"{weightsPath} has format '{format}', expected a sedd-checkpoint tensor file", SeddException.BadInput);
        // The trainer scales by σ exactly for the absorbing graph (Objectives.cs: scaleBySigma = graph.IsAbsorbing).
        var arch = ScoreNetworkArchitecture.Infer(tensors, AuthorsConfig.Int(config, configPath, "model", "n_heads"), graph == "absorb", maxLength ?? length)
            with { TimeIndependent = timeIndependent, Parameterization = parameterization };
        Agree(configPath, "hidden_size", AuthorsConfig.Int(config, configPath, "model", "hidden_size"), arch.HiddenSize);
        Agree(configPath, "cond_dim", AuthorsConfig.Int(config, configPath, "model", "cond_dim"), arch.CondDim);
        Agree(configPath, "n_blocks", AuthorsConfig.Int(config, configPath, "model", "n_blocks"), arch.Blocks);
        int tokens = graph == "absorb" ? arch.Vocab - 1 : arch.Vocab;

        // Provenance from the prepared data folder the run read (its path as written in the config).
        var meta = DataMeta(config["data"] is JsonValue d && d.TryGetValue<string>(out var data) ? data : null, folder, cancel);
        string tokenizer;
        if (meta?["tokenizer"] is JsonValue tv && tv.TryGetValue<string>(out var spec))
        {
            tokenizer = spec;
            if (meta["vocab_size"] is JsonValue vs && vs.TryGetValue<int>(out var vocab) && vocab != tokens)
                throw new SeddException($"{weightsPath}: the network scores {tokens} tokens but its data folder's meta.json says vocab_size {vocab}", SeddException.BadInput);
        }
        else tokenizer = ExportSource.TokenizerFor(tokens);

        return new ExportSource
        {
            Kind = "sedd-train",
            Location = folder,
            Architecture = arch,
            Weights = tensors,
            GraphType = graph,
            Tokens = tokens,
            Noise = ExportSource.NoiseOf(noiseType,
                config["noise"]?["sigma_min"] is JsonNode ? AuthorsConfig.Num(config, configPath, "noise", "sigma_min") : 1e-4,
                config["noise"]?["sigma_max"] is JsonNode ? AuthorsConfig.Num(config, configPath, "noise", "sigma_max") : 20),
            TrainedLength = length,
            Tokenizer = tokenizer,
            WeightsKind = weights,
            Corpus = meta?["corpus"] is JsonValue c && c.TryGetValue<string>(out var name) ? name : corpus,
            Steps = state["step"] is JsonValue st && st.TryGetValue<long>(out var step) ? step : null,
            TrainingTokens = state["tokens"] is JsonValue tk && tk.TryGetValue<long>(out var seen) ? seen : null,
        };
    }

    /// <summary>
    /// The checkpoint <c>checkpoints/latest</c> names, else the newest complete <c>step-*</c>. The pointer
    /// may only name a <c>step-*</c> folder of this run: "../other-run/..." or an absolute path is refused.
    /// </summary>
    static string Latest(string run)
    {
        var root = Path.Combine(run, "checkpoints");
        var pointer = Path.Combine(root, "latest");
        if (FileKinds.Of(pointer) != FileKind.Missing)
        {
            var name = UserFiles.ReadAllText(pointer, "checkpoint pointer", 4096).Trim();
            if (name.Length == 0 || name.Contains('/', StringComparison.Ordinal) || name.Contains('\\', StringComparison.Ordinal) || name is "." or ".." || !name.StartsWith("step-", StringComparison.Ordinal))
                throw new SeddException($"{pointer} names '{TerminalText.Neutralise(name, false)}'; it must name a step-* folder of {run}/checkpoints", SeddException.BadInput);
            var dir = Path.Combine(root, name);
            if (FileKinds.Of(Path.Combine(dir, StateFile)) != FileKind.Missing) return dir;
        }
        var newest = Directory.Exists(root)
            ? Directory.GetDirectories(root, "step-*").Where(d => !d.EndsWith(".old", StringComparison.Ordinal) && FileKinds.Of(Path.Combine(d, StateFile)) != FileKind.Missing)
                .Order(StringComparer.Ordinal).LastOrDefault()
            : null;
        return newest ?? throw new SeddException($"{run} holds no complete checkpoint (no checkpoints/step-*/state.json)", SeddException.BadInput);
    }

    // The config's data path is as the trainer saw it: relative to its working folder. Try it as given,
    // then beside the run folder (runs/X/checkpoints/step-N → the folder holding runs/). The provenance
    // it gives is optional: a meta.json that is missing or not JSON is skipped, but one that is not a
    // regular file is refused rather than opened (a FIFO would block).
    static JsonObject? DataMeta(string? data, string checkpoint, CancellationToken cancel)
    {
        if (string.IsNullOrEmpty(data) || data.Contains('\0', StringComparison.Ordinal)) return null;
        var candidates = new List<string> { data };
        if (!Path.IsPathRooted(data))
            for (var dir = Path.GetDirectoryName(Path.GetFullPath(checkpoint)); dir != null; dir = Path.GetDirectoryName(dir))
                candidates.Add(Path.Combine(dir, data));
        foreach (var folder in candidates)
        {
            var path = Path.Combine(folder, "meta.json");
            if (FileKinds.Of(path) == FileKind.Missing) continue;
            var text = UserFiles.ReadAllText(path, "data folder's meta.json", StrictJson.MaxFileBytes, cancel);
            try { return StrictJson.ParseObject(text, path); }
            catch (SeddException) { return null; }
        }
        return null;
    }

    static JsonObject ReadObject(string path, CancellationToken cancel) => StrictJson.ReadObject(path, "checkpoint file", cancel);

    static void Agree(string path, string key, int configured, int inferred)
    {
        if (configured != inferred)
            throw new SeddException($"{path}: model.{key} is {configured} but the weights have {inferred}", SeddException.BadInput);
    }
}
