using Sedd.Runtime;

namespace Sedd.Trainer.Training;

/// <summary>
/// The config a resumed run continues with: the run's own (the config.json saved with its latest
/// checkpoint) plus only the overrides given now — nothing has to be repeated. Overrides of the keys
/// that fix what the checkpoint is (the model, the method, the data, the batch and the seed) are
/// refused, since the weights, the optimiser state and the data position would no longer fit them.
/// </summary>
public static class ResumeConfig
{
    /// <summary>Keys (and sections, ending in '.') a resumed run cannot change; see <see cref="IsFixed"/>.</summary>
    public static IReadOnlyList<string> Fixed { get; } =
        ["objective", "data", "graph.", "noise.", "model.", "training.batch_size", "training.seed"];

    /// <summary>Keys inside a fixed section that a resumed run may still change.</summary>
    public static IReadOnlyList<string> Changeable { get; } = ["model.dropout"];

    /// <summary>Whether a resumed run must keep <paramref name="key"/>'s value.</summary>
    /// <param name="key">Dotted config key.</param>
    public static bool IsFixed(string key) =>
        !Changeable.Contains(key) && Fixed.Any(f => f.EndsWith('.') ? key.StartsWith(f, StringComparison.Ordinal) : key == f);

    /// <summary>
    /// Resolves the config of <c>train --resume</c>. The run folder is the <c>output</c> of
    /// <paramref name="configFile"/> plus <paramref name="overrides"/> (as for a new run); its latest
    /// checkpoint's config is the base and <paramref name="overrides"/> are applied on top. Values of
    /// <paramref name="configFile"/> that differ from the run's and are not overridden are named in one
    /// note on <paramref name="log"/>, never applied silently.
    /// </summary>
    /// <param name="configFile">The <c>--config</c> file, if given (it may only name the run folder).</param>
    /// <param name="overrides">Overrides given on this command line.</param>
    /// <param name="log">Where the note goes.</param>
    /// <exception cref="SeddException">No checkpoint to resume (exit 2), or an override of a fixed key (exit 1).</exception>
    public static TrainConfig Resolve(string? configFile, IReadOnlyList<string> overrides, TextWriter log)
    {
        ArgumentNullException.ThrowIfNull(overrides);
        ArgumentNullException.ThrowIfNull(log);
        var requested = ConfigLoader.Load(configFile, overrides);
        var run = requested.Output;
        RunFolder.Check(run, RunStart.Resume);
        var latest = Checkpoint.Latest(run)
            ?? throw new SeddException($"--resume: {run} holds no checkpoint to continue (pass --start-over to start a new run there, or name the run with -o/--output)", SeddException.BadInput);
        var savedPath = Path.Combine(latest, RunFolder.ConfigFile);
        var saved = ConfigLoader.LoadRun(savedPath, []);
        // The folder is where the run is now, wherever it was when the checkpoint was written.
        var given = ConfigLoader.KeysOf(overrides).ToHashSet(StringComparer.Ordinal);
        var resumed = ConfigLoader.LoadRun(savedPath, [.. overrides.Where(o => ConfigLoader.KeysOf([o]) is not ["output"]), "output=" + run]);

        var savedValues = Flatten(saved);
        var resumedValues = Flatten(resumed);
        foreach (var key in given.Where(IsFixed))
            if (savedValues[key] != resumedValues[key] && !(key == "data" && SameFolder(saved.Data, resumed.Data)))
                throw new SeddException($"--resume cannot change {key} (the run has {savedValues[key]}, the command line asks for {resumedValues[key]}): " +
                                        "the checkpoint's model, data, batch and seed stay; start a new run with another output folder or --start-over, or from an exported package with --init", SeddException.Usage);

        if (configFile != null)
        {
            var fileConfig = ConfigLoader.Load(configFile, []);
            var fileValues = Flatten(fileConfig);
            var ignored = fileValues.Where(p => p.Key != "output" && !given.Contains(p.Key) && savedValues[p.Key] != p.Value
                                                && !(p.Key == "data" && SameFolder(saved.Data, fileConfig.Data))).Select(p => p.Key).ToArray();
            if (ignored.Length > 0)
            {
                var listed = string.Join(", ", ignored.Take(6)) + (ignored.Length > 6 ? $" and {ignored.Length - 6} more" : "");
                log.WriteLine($"note: --resume continues with the run's own config ({savedPath}); {configFile} differs in {listed}, " +
                              "which keep the run's values (pass key=value to change one)");
            }
        }
        return resumed;
    }

    static bool SameFolder(string a, string b) => Path.GetFullPath(a).TrimEnd(Path.DirectorySeparatorChar) == Path.GetFullPath(b).TrimEnd(Path.DirectorySeparatorChar);

    /// <summary>Every key of a config with its value as JSON text.</summary>
    static Dictionary<string, string> Flatten(TrainConfig config)
    {
        var map = new Dictionary<string, string>(StringComparer.Ordinal);
        void Walk(System.Text.Json.Nodes.JsonObject o, string prefix)
        {
            foreach (var (k, v) in o)
                if (v is System.Text.Json.Nodes.JsonObject sub) Walk(sub, prefix + k + ".");
                else map[prefix + k] = v?.ToJsonString() ?? "null";
        }
        Walk(System.Text.Json.Nodes.JsonNode.Parse(ConfigLoader.ToJson(config))!.AsObject(), "");
        return map;
    }
}
