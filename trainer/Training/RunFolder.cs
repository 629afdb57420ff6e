using System.Globalization;
using Sedd.Runtime;
using Sedd.Runtime.IO;

namespace Sedd.Trainer.Training;

/// <summary>How a training run uses its output folder.</summary>
public enum RunStart
{
    /// <summary>A new run: the folder must be new or empty.</summary>
    New,

    /// <summary><c>--resume</c>: continue the run the folder holds.</summary>
    Resume,

    /// <summary><c>--start-over</c>: move the run the folder holds to <c>previous/</c>, then start a new one.</summary>
    StartOver,
}

/// <summary>
/// The output folder of a training run, and the rule that protects what it holds: a new run starts only
/// in a new or empty folder; <c>--resume</c> continues the run a folder holds; <c>--start-over</c> moves
/// an earlier run's files (config.json, metrics.jsonl, loss.png, checkpoints/) into
/// <c>previous/&lt;time&gt;/</c> inside the folder and starts a new run — nothing is deleted or truncated.
/// A folder whose config.json is not a sedd-train config (an authors' hub folder, say), or that holds
/// files but no run, is never written to.
/// </summary>
public static class RunFolder
{
    /// <summary>The resolved config of the run.</summary>
    public const string ConfigFile = "config.json";

    /// <summary>The training log (append only).</summary>
    public const string MetricsFile = "metrics.jsonl";

    /// <summary>The loss plot.</summary>
    public const string PlotFile = "loss.png";

    /// <summary>Where <c>--start-over</c> moves earlier runs.</summary>
    public const string PreviousFolder = "previous";

    // The entries a run writes, moved by --start-over; config.json last, so an interrupted move leaves a run.
    static readonly string[] RunEntries = [MetricsFile, PlotFile, "checkpoints", ConfigFile];

    /// <summary>
    /// Checks that a run may start (or continue) in <paramref name="folder"/>; writes nothing. Call before
    /// any slow work, and for <see cref="RunStart.StartOver"/> call <see cref="MoveAside"/> just before the
    /// run writes its first file.
    /// </summary>
    /// <param name="folder">The run's output folder.</param>
    /// <param name="start">How the run uses it.</param>
    /// <exception cref="SeddException">The folder holds something this run may not touch (exit 1), or is not a folder (exit 3).</exception>
    public static void Check(string folder, RunStart start)
    {
        UserFiles.RequirePathArgument(folder, "the output folder");
        var kind = FileKinds.Of(folder);
        if (kind == FileKind.Missing) return;
        if (kind != FileKind.Directory)
            throw new SeddException($"output {folder} is {FileKinds.Describe(kind)}; expected a folder for the run", SeddException.Environment);
        var entries = Entries(folder);
        if (entries.Length == 0) return;
        bool isRun = IsRun(folder);
        if (!isRun && File.Exists(Path.Combine(folder, ConfigFile)))
            throw new SeddException($"{folder} holds a config.json that is not a sedd-train config (a model's hub folder?), which is never overwritten; choose a new or empty output folder", SeddException.Usage);
        if (start == RunStart.New && isRun)
            throw new SeddException($"{folder} already holds a run ({Describe(folder)}); pass --resume to continue it, --start-over to move it to {Path.Combine(folder, PreviousFolder)}/ and start a new one, or choose another output folder", SeddException.Usage);
        if (start != RunStart.Resume && !isRun)
            throw new SeddException($"{folder} is not empty and holds no sedd-train run (it holds '{entries[0]}'); choose a new or empty output folder", SeddException.Usage);
    }

    /// <summary>Whether <paramref name="folder"/>'s config.json is a config sedd-train wrote.</summary>
    /// <param name="folder">A folder.</param>
    public static bool IsRun(string folder)
    {
        var path = Path.Combine(folder, ConfigFile);
        if (FileKinds.Of(path) != FileKind.Regular) return false;
        try { return ConfigLoader.IsConfig(UserFiles.ReadAllText(path, "config file", ConfigLoader.MaxConfigBytes)); }
        catch (SeddException) { return false; }
    }

    // What the folder holds besides earlier runs moved aside and temporary files of a write that was cut off.
    static string[] Entries(string folder)
    {
        static bool Ours(string name) => name == PreviousFolder || name.StartsWith(ConfigFile + ".tmp-", StringComparison.Ordinal);
        try { return [.. Directory.EnumerateFileSystemEntries(folder).Select(Path.GetFileName).OfType<string>().Where(n => !Ours(n)).Order(StringComparer.Ordinal)]; }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new SeddException($"cannot list output folder {folder}: {e.Message}", SeddException.Environment);
        }
    }

    static string Describe(string folder)
    {
        var latest = Checkpoint.All(folder).LastOrDefault();
        return latest is null ? "metrics but no checkpoint yet" : $"latest checkpoint {Path.GetFileName(latest)}";
    }

    /// <summary>
    /// <c>--start-over</c>: moves the earlier run's own entries (config.json last) into previous/&lt;time&gt;/
    /// inside <paramref name="folder"/>; other files stay where they are. Does nothing when the folder holds no run.
    /// </summary>
    /// <param name="folder">The run's output folder, checked by <see cref="Check"/>.</param>
    /// <param name="log">Where the move is reported.</param>
    /// <returns>The folder the earlier run now lives in, or null.</returns>
    public static string? MoveAside(string folder, TextWriter log)
    {
        ArgumentNullException.ThrowIfNull(log);
        if (FileKinds.Of(folder) != FileKind.Directory || !IsRun(folder)) return null;
        var stamp = DateTime.Now.ToString("yyyyMMdd-HHmmss", CultureInfo.InvariantCulture);
        var to = Path.Combine(folder, PreviousFolder, stamp);
        for (int n = 2; Directory.Exists(to); n++) to = Path.Combine(folder, PreviousFolder, $"{stamp}-{n}");
        try
        {
            Directory.CreateDirectory(to);
            foreach (var name in RunEntries)
            {
                var from = Path.Combine(folder, name);
                if (Directory.Exists(from)) Directory.Move(from, Path.Combine(to, name));
                else if (File.Exists(from)) File.Move(from, Path.Combine(to, name));
            }
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new SeddException($"cannot move the earlier run in {folder} to {to}: {e.Message}", SeddException.Environment);
        }
        log.WriteLine($"moved the earlier run in {folder} to {to}");
        return to;
    }
}
