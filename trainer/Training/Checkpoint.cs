using System.Text.Json;
using Sedd.Runtime;
using Sedd.Runtime.IO;
using TorchSharp;
using static TorchSharp.torch;

namespace Sedd.Trainer.Training;

/// <summary>Progress counters stored with every checkpoint.</summary>
public sealed record TrainState
{
    /// <summary>Checkpoint layout version.</summary>
    public int FormatVersion { get; init; } = 1;

    /// <summary>Optimiser steps completed.</summary>
    public long Step { get; init; }

    /// <summary>EMA updates applied.</summary>
    public long EmaUpdates { get; init; }

    /// <summary>Data position: epoch of the block permutation.</summary>
    public long Epoch { get; init; }

    /// <summary>Data position: next block within the epoch's permutation.</summary>
    public long Cursor { get; init; }

    /// <summary>Training tokens consumed.</summary>
    public long Tokens { get; init; }

    /// <summary>Steps whose loss or gradient was not finite (their update was skipped).</summary>
    public int NonFinite { get; init; }

    /// <summary>Wall-clock seconds of training so far, across resumes.</summary>
    public double Seconds { get; init; }

    /// <summary>Best validation loss (nats per token) seen, if any.</summary>
    public double? BestValid { get; init; }

    /// <summary>Step of <see cref="BestValid"/>.</summary>
    public long BestValidStep { get; init; }

    /// <summary>Validations in a row since the last new best (early stopping, <c>training.patience</c>); 0 in older checkpoints.</summary>
    public int ValidationsSinceBest { get; init; }

    /// <summary>Step the learning-rate warm-up counts from: 0, or the step of a warm start (its AdamW moments start fresh).</summary>
    public long WarmupFrom { get; init; }

    /// <summary>Model package the run started from (<c>--init</c>), if any.</summary>
    public string? InitFrom { get; init; }
}

/// <summary>Everything read back from a checkpoint folder.</summary>
/// <param name="Folder">Checkpoint folder.</param>
/// <param name="Config">Resolved config it was trained with.</param>
/// <param name="State">Counters.</param>
/// <param name="Model">Online weights and buffers.</param>
/// <param name="Ema">EMA weights and buffers.</param>
/// <param name="Optimizer">AdamW moments and RNG states.</param>
public sealed record LoadedCheckpoint(string Folder, TrainConfig Config, TrainState State,
    Dictionary<string, Tensor> Model, Dictionary<string, Tensor> Ema, Dictionary<string, Tensor> Optimizer);

/// <summary>
/// Checkpoints: <c>RUN/checkpoints/step-NNNNNNNN/</c> with model, ema and optimizer safetensors,
/// state.json and config.json. A checkpoint is written into a temporary folder that is renamed
/// into place only when complete, then <c>checkpoints/latest</c> is switched atomically; a crash at
/// any point leaves the previous checkpoint as the latest loadable one.
/// </summary>
public static partial class Checkpoint
{
    /// <summary>EMA weights, readable without libtorch (the exporter's input).</summary>
    public const string EmaFile = "ema.safetensors";

    const string ModelFile = "model.safetensors", OptimizerFile = "optimizer.safetensors", StateFile = "state.json", ConfigFile = "config.json";

    static readonly JsonSerializerOptions StateJson = new(ConfigLoader.Options) { UnmappedMemberHandling = System.Text.Json.Serialization.JsonUnmappedMemberHandling.Skip };

    /// <summary>Folder holding a run's checkpoints.</summary>
    /// <param name="run">Run folder.</param>
    public static string Root(string run) => Path.Combine(run, "checkpoints");

    /// <summary>Writes a checkpoint and makes it the latest.</summary>
    /// <param name="run">Run folder.</param>
    /// <param name="config">Resolved config.</param>
    /// <param name="state">Counters.</param>
    /// <param name="model">Online weights (state_dict).</param>
    /// <param name="ema">EMA weights (state_dict layout).</param>
    /// <param name="optimizer">Optimizer and RNG tensors.</param>
    /// <param name="faultAfter">Test hook: called after each file is written; throwing simulates a crash.</param>
    public static string Save(string run, TrainConfig config, TrainState state,
        IEnumerable<(string, Tensor)> model, IEnumerable<(string, Tensor)> ema, IEnumerable<(string, Tensor)> optimizer,
        Action<string>? faultAfter = null)
    {
        var root = Root(run);
        var name = $"step-{state.Step:D8}";
        var final = Path.Combine(root, name);
        var temp = Path.Combine(root, $".{name}.tmp-{Environment.ProcessId}");
        try
        {
            Directory.CreateDirectory(root);
            // Leftovers of a crashed write (one trainer owns a run folder, so any temporary folder is stale).
            foreach (var stale in Directory.GetDirectories(root, ".step-*.tmp-*")) Directory.Delete(stale, recursive: true);
            Directory.CreateDirectory(temp);
            var configJson = ConfigLoader.ToJson(config);
            var meta = new Dictionary<string, string> { ["format"] = "sedd-checkpoint", ["step"] = state.Step.ToString(System.Globalization.CultureInfo.InvariantCulture), ["config"] = configJson };
            TensorIO.Save(Path.Combine(temp, ModelFile), model, meta);
            faultAfter?.Invoke(ModelFile);
            TensorIO.Save(Path.Combine(temp, EmaFile), ema, meta);
            faultAfter?.Invoke(EmaFile);
            TensorIO.Save(Path.Combine(temp, OptimizerFile), optimizer);
            faultAfter?.Invoke(OptimizerFile);
            AtomicFile.WriteAllText(Path.Combine(temp, ConfigFile), configJson);
            AtomicFile.WriteAllText(Path.Combine(temp, StateFile), JsonSerializer.Serialize(state, StateJson));
            faultAfter?.Invoke(StateFile);
            if (Directory.Exists(final))
            {
                var old = final + ".old";
                if (Directory.Exists(old)) Directory.Delete(old, true);
                Directory.Move(final, old);
                Directory.Move(temp, final);
                Directory.Delete(old, true);
            }
            else Directory.Move(temp, final);
            AtomicFile.WriteAllText(Path.Combine(root, "latest"), name);
            return final;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new SeddException($"cannot write checkpoint {final}: {e.Message}", SeddException.Environment);
        }
    }

    /// <summary>
    /// The latest complete checkpoint of a run, or null when it has none. The <c>checkpoints/latest</c>
    /// pointer may only name a checkpoint folder of this run (step-N, no path): a pointer that leads
    /// anywhere else (<c>..</c>, an absolute path, a link out of the run) is refused, so a resumed run
    /// can never continue another run's weights.
    /// </summary>
    /// <param name="run">Run folder.</param>
    /// <exception cref="SeddException">A pointer that is not a regular file or leaves the run (exit 2).</exception>
    public static string? Latest(string run)
    {
        var root = Root(run);
        var pointer = Path.Combine(root, "latest");
        if (FileKinds.Of(pointer) != FileKind.Missing)
        {
            var name = UserFiles.ReadAllText(pointer, "checkpoint pointer", 1024).Trim();
            if (!CheckpointName().IsMatch(name))
                throw new SeddException($"{pointer} names '{TerminalText.Neutralise(name.Length > 80 ? name[..80] + "..." : name, keepNewlines: false)}', which is not a checkpoint of this run; expected a name like step-00000100 (delete the file to use the newest checkpoint)", SeddException.BadInput);
            var dir = Path.Combine(root, name);
            if (IsComplete(dir)) return dir;
        }
        return All(run).LastOrDefault();
    }

    /// <summary>All complete checkpoints of a run, oldest first (symbolic links, which could lead out of the run, are not checkpoints).</summary>
    /// <param name="run">Run folder.</param>
    public static string[] All(string run) => Directory.Exists(Root(run))
        ? [.. Directory.GetDirectories(Root(run), "step-*").Where(d => CheckpointName().IsMatch(Path.GetFileName(d)) && IsComplete(d)).Order(StringComparer.Ordinal)]
        : [];

    static bool IsComplete(string dir) =>
        FileKinds.Of(dir) == FileKind.Directory && new DirectoryInfo(dir).LinkTarget is null && File.Exists(Path.Combine(dir, StateFile));

    [System.Text.RegularExpressions.GeneratedRegex("^step-[0-9]{8,19}$")]
    private static partial System.Text.RegularExpressions.Regex CheckpointName();

    /// <summary>Reads a checkpoint folder; any missing or corrupt file is a one-line error.</summary>
    /// <param name="folder">Checkpoint folder (or a run folder: its latest checkpoint).</param>
    public static LoadedCheckpoint Load(string folder)
    {
        UserFiles.RequirePathArgument(folder, "checkpoint");
        if (!File.Exists(Path.Combine(folder, StateFile)) && Latest(folder) is { } latest) folder = latest;
        if (!Directory.Exists(folder))
        {
            var kind = FileKinds.Of(folder);
            throw new SeddException(kind == FileKind.Missing
                ? $"checkpoint {folder} not found (expected a run folder or one of its checkpoints/step-N folders)"
                : $"checkpoint {folder} is {FileKinds.Describe(kind)}; expected a run folder or one of its checkpoints/step-N folders", SeddException.BadInput);
        }
        foreach (var f in new[] { ModelFile, EmaFile, OptimizerFile, StateFile, ConfigFile })
            if (!File.Exists(Path.Combine(folder, f)))
                throw new SeddException($"checkpoint {folder} is incomplete: {f} is missing", SeddException.BadInput);
        TrainState? state;
        var statePath = Path.Combine(folder, StateFile);
        try { state = JsonSerializer.Deserialize<TrainState>(UserFiles.ReadAllText(statePath, "checkpoint file", ConfigLoader.MaxConfigBytes), StateJson); }
        catch (JsonException e) { throw new SeddException($"checkpoint {folder} has a corrupt {StateFile}: {e.Message}", SeddException.BadInput); }
        if (state is null) throw new SeddException($"checkpoint {folder} has a corrupt {StateFile}: null", SeddException.BadInput);
        if (state.FormatVersion != 1) throw new SeddException($"checkpoint {folder} has format version {state.FormatVersion}; this build reads version 1", SeddException.BadInput);
        if (state.Step < 0 || state.Epoch < 0 || state.Cursor < 0 || state.Tokens < 0 || state.EmaUpdates < 0 || state.NonFinite < 0 || state.WarmupFrom < 0 || state.BestValidStep < 0)
            throw new SeddException($"checkpoint {folder} has a corrupt {StateFile}: negative counters", SeddException.BadInput);
        var configPath = Path.Combine(folder, ConfigFile);
        var config = ConfigLoader.FromJson(UserFiles.ReadAllText(configPath, "checkpoint file", ConfigLoader.MaxConfigBytes), configPath);
        return new(folder, config, state,
            TensorIO.Load(Path.Combine(folder, ModelFile)), TensorIO.Load(Path.Combine(folder, EmaFile)), TensorIO.Load(Path.Combine(folder, OptimizerFile)));
    }

    /// <summary>Fails when a checkpoint's architecture or method differs from the run's config.</summary>
    /// <param name="checkpoint">Loaded checkpoint's config.</param>
    /// <param name="run">This run's config.</param>
    /// <param name="where">Checkpoint folder for the message.</param>
    public static void RequireCompatible(TrainConfig checkpoint, TrainConfig run, string where)
    {
        void Same<T>(string key, T a, T b)
        {
            if (!EqualityComparer<T>.Default.Equals(a, b))
                throw new SeddException($"checkpoint {where} was trained with {key}={a}, but this run has {key}={b}", SeddException.BadInput);
        }
        Same("objective", checkpoint.Objective, run.Objective);
        Same("graph.type", checkpoint.Graph.Type, run.Graph.Type);
        Same("noise.type", checkpoint.Noise.Type, run.Noise.Type);
        Same("model.hidden_size", checkpoint.Model.HiddenSize, run.Model.HiddenSize);
        Same("model.n_blocks", checkpoint.Model.NBlocks, run.Model.NBlocks);
        Same("model.n_heads", checkpoint.Model.NHeads, run.Model.NHeads);
        Same("model.cond_dim", checkpoint.Model.CondDim, run.Model.CondDim);
        Same("model.length", checkpoint.Model.Length, run.Model.Length);
        Same("model.time_independent", checkpoint.Model.TimeIndependent, run.Model.TimeIndependent);
        Same("model.parameterization", checkpoint.Model.Parameterization, run.Model.Parameterization);
        Same("training.batch_size", checkpoint.Training.BatchSize, run.Training.BatchSize);
        Same("training.seed", checkpoint.Training.Seed, run.Training.Seed);
        Same("data", Path.GetFullPath(checkpoint.Data), Path.GetFullPath(run.Data));
    }

    /// <summary>Removes old checkpoints, keeping the newest <paramref name="keep"/> and the one at <paramref name="protectStep"/>.</summary>
    /// <param name="run">Run folder.</param>
    /// <param name="keep">How many to keep.</param>
    /// <param name="protectStep">Step of the best-validation checkpoint.</param>
    public static void Prune(string run, int keep, long protectStep)
    {
        var all = All(run);
        var protect = $"step-{protectStep:D8}";
        foreach (var dir in all.Take(Math.Max(0, all.Length - keep)))
            if (Path.GetFileName(dir) != protect)
                Directory.Delete(dir, recursive: true);
    }
}
