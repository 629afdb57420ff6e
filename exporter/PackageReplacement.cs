using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using Sedd.Runtime;
using Sedd.Runtime.IO;

namespace Sedd.Exporter;

/// <summary>
/// Puts a freshly built package at <c>--out</c> so that a crash at any instant leaves either the old
/// or the new package there, never neither, and so that the next export cleans up after it.
/// </summary>
/// <remarks>
/// <para>The protocol, for the package folder <c>P/N</c> (all names hidden, all in P, one id per export):</para>
/// <list type="number">
/// <item><b>Journal.</b> Under an exclusive lock on P (<see cref="FolderLock"/>), <c>.N.sedd-export-ID.json</c>
/// is written (atomically) with this process's host, id and start time and the names below. It is what
/// makes the other names provably ours; it is removed last.</item>
/// <item><b>Build.</b> The package is written into <c>.N.sedd-export-ID.new</c> (B), outside the lock,
/// verified and reopened as the runtime would.</item>
/// <item><b>Commit.</b> Under the lock again, and only if the export was not cancelled (<see cref="CommitGate"/>):
/// with no package at N, B is renamed to N. Otherwise B and N are exchanged in one atomic step
/// (<see cref="FolderSwap"/>), after which B holds the old package. Where the file system cannot exchange,
/// N is renamed to <c>.N.sedd-export-ID.old</c> (A) and B to N; a failed second rename renames A back.
/// The rename or exchange that gives the new package its name is the point of no return.</item>
/// <item><b>Clean.</b> The old package (B after an exchange, A after two renames) is deleted, then the journal.</item>
/// </list>
/// <para>Recovery. Every export first takes the lock on P and looks for journals whose process is gone
/// (same host, and no live process with that id and start time). For each: if A exists and N does not,
/// the two-rename commit stopped half-way, so A is renamed back to N (roll back); B, if it exists, is
/// deleted — before the commit it is the unfinished new package (roll back), after an exchange the old
/// one (finish); A, if N exists, is the old package of a finished commit and is deleted. Then the journal
/// goes. In every case N ends up holding a complete package if it held one before. One state does not fit
/// (N made anew by someone else while A waits); it is left as it is, with a warning. Folders that look like
/// ours but have no journal are never touched.</para>
/// </remarks>
public sealed partial class PackageReplacement : IDisposable
{
    const string Tool = "sedd-export";

    readonly TextWriter log;
    bool committed;
    bool abandoned;

    PackageReplacement(string final, string id, TextWriter log)
    {
        Final = final;
        Parent = Path.GetDirectoryName(final)!;
        var name = Path.GetFileName(final);
        var stem = $".{(name.Length > 100 ? name[..100] : name)}.{Tool}-{id}";
        Journal = Path.Combine(Parent, stem + ".json");
        Build = Path.Combine(Parent, stem + ".new");
        Aside = Path.Combine(Parent, stem + ".old");
        this.log = log;
    }

    /// <summary>The package folder (absolute).</summary>
    public string Final { get; }

    /// <summary>The folder the package is built in, beside <see cref="Final"/>.</summary>
    public string Build { get; }

    string Parent { get; }

    string Journal { get; }

    string Aside { get; }

    /// <summary>Who this process is, as journals record it (tests pretend to be a process that is gone).</summary>
    internal static ProcessIdentity Identity { get; set; } = ProcessIdentity.Current;

    /// <summary>Exchange the folders atomically where the file system can (tests turn it off to exercise the fallback).</summary>
    internal static bool UseExchange { get; set; } = true;

    /// <summary>Test hook: returning true at a step ("journal", "aside", "placed", "cleaned") simulates a crash there.</summary>
    internal static Func<string, bool>? CrashAt { get; set; }

    /// <summary>
    /// Recovers abandoned exports in the parent of <paramref name="final"/>, checks the destination
    /// (<see cref="OutputFolder.RequireWritable"/>), writes the journal and creates the build folder.
    /// </summary>
    /// <param name="final">Absolute package folder.</param>
    /// <param name="check">Checks the destination (run under the lock, after recovery).</param>
    /// <param name="log">Where warnings go.</param>
    /// <param name="cancel">Stops waiting for the lock.</param>
    public static PackageReplacement Begin(string final, Action check, TextWriter log, CancellationToken cancel)
    {
        ArgumentNullException.ThrowIfNull(final);
        ArgumentNullException.ThrowIfNull(check);
        ArgumentNullException.ThrowIfNull(log);
        var replacement = new PackageReplacement(final, $"{Environment.ProcessId}-{Guid.NewGuid().ToString("N")[..8]}", log);
        Directory.CreateDirectory(replacement.Parent);
        using (FolderLock.Acquire(replacement.Parent, cancel))
        {
            RecoverAbandoned(replacement.Parent, log);
            check();
            var id = Identity;
            AtomicFile.WriteAllText(replacement.Journal, new JsonObject
            {
                ["tool"] = Tool, ["host"] = id.Host, ["pid"] = id.Pid, ["start_ticks"] = id.StartTicks,
                ["final"] = Path.GetFileName(final), ["build"] = Path.GetFileName(replacement.Build), ["aside"] = Path.GetFileName(replacement.Aside),
            }.ToJsonString() + "\n");
            replacement.Step("journal");
            Directory.CreateDirectory(replacement.Build);
        }
        return replacement;
    }

    /// <summary>
    /// Moves the built package to <see cref="Final"/> under the lock, through <paramref name="gate"/> so that
    /// a cancellation either prevents the commit or comes after it; then deletes the old package.
    /// </summary>
    /// <param name="check">Checks the destination again (it may have changed during the build).</param>
    /// <param name="gate">The point of no return.</param>
    /// <param name="cancel">Vetoes the commit when cancelled.</param>
    public void Commit(Action check, CommitGate gate, CancellationToken cancel)
    {
        ArgumentNullException.ThrowIfNull(check);
        ArgumentNullException.ThrowIfNull(gate);
        using (FolderLock.Acquire(Parent, cancel))
        {
            check();
            string? old = null;
            gate.Commit(cancel, () =>
            {
                if (!Directory.Exists(Final)) Directory.Move(Build, Final);
                else if (UseExchange && FolderSwap.TryExchange(Build, Final)) old = Build;
                else
                {
                    Directory.Move(Final, Aside);
                    Step("aside");
                    try { Directory.Move(Build, Final); }
                    catch
                    {
                        Directory.Move(Aside, Final);   // the old package keeps its name
                        throw;
                    }
                    old = Aside;
                }
                committed = true;
            });
            Step("placed");
            if (old == null || DeleteFolder(old, log))
            {
                Step("cleaned");
                DeleteFile(Journal);
            }
        }
    }

    /// <summary>Rolls back an export that did not commit: the build folder and the journal go, an old package stays.</summary>
    public void Dispose()
    {
        if (committed || abandoned) return;
        bool clean = DeleteFolder(Build, log);
        if (Directory.Exists(Aside))
        {
            // Only when a failed commit could not rename the old package back: try once more.
            if (!Directory.Exists(Final))
            {
                try { Directory.Move(Aside, Final); }
                catch (Exception e) when (e is IOException or UnauthorizedAccessException) { clean = false; }
            }
            else clean = false;
        }
        if (clean) DeleteFile(Journal);
    }

    void Step(string name)
    {
        if (CrashAt?.Invoke(name) != true) return;
        abandoned = true;
        throw new SimulatedCrashException(name);
    }

    /// <summary>
    /// Finishes or rolls back every export into <paramref name="parent"/> whose journal says its process is
    /// gone. The caller holds the folder's lock. Returns how many were recovered.
    /// </summary>
    /// <param name="parent">The folder holding packages.</param>
    /// <param name="log">Where warnings go.</param>
    internal static int RecoverAbandoned(string parent, TextWriter log)
    {
        int recovered = 0;
        IEnumerable<string> journals;
        try { journals = Directory.EnumerateFiles(parent, $".*.{Tool}-*.json").ToList(); }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException) { return 0; }
        foreach (var journal in journals)
        {
            var entry = ReadJournal(journal);
            if (entry == null || entry.Value.Owner.MayBeRunning()) continue;
            var (final, build, aside) = (Path.Combine(parent, entry.Value.Final), Path.Combine(parent, entry.Value.Build), Path.Combine(parent, entry.Value.Aside));
            bool clean = true, hadBuild = Directory.Exists(build);
            try
            {
                if (Directory.Exists(aside) && !Directory.Exists(final)) Directory.Move(aside, final);   // a two-rename commit stopped half-way: roll back
                if (hadBuild) clean &= DeleteFolder(build, log);   // the unfinished new package, or the old one after an exchange
                if (Directory.Exists(aside) && !hadBuild) clean &= DeleteFolder(aside, log);   // the old package of a finished two-rename commit
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException) { clean = false; }
            if (Directory.Exists(aside) && hadBuild)
            {
                // N was made anew by someone else while the old package waited aside: both are a user's now.
                log.WriteLine($"{Tool}: warning: an interrupted replacement of {TerminalText.Neutralise(final, false)} left the old package in {TerminalText.Neutralise(aside, false)}; move it back by hand if you need it");
                clean = false;
            }
            if (clean) DeleteFile(journal);
            recovered++;
        }
        return recovered;
    }

    /// <summary>A journal's owner and names, or null unless it is provably one of ours (names derived from its own).</summary>
    static (ProcessIdentity Owner, string Final, string Build, string Aside)? ReadJournal(string path)
    {
        var match = JournalName().Match(Path.GetFileName(path));
        if (!match.Success || FileKinds.Of(path) != FileKind.Regular) return null;
        JsonObject o;
        try { o = StrictJson.ParseObject(UserFiles.ReadAllText(path, "journal", 64 << 10), path); }
        catch (SeddException) { return null; }
        string? Str(string key) => o[key] is JsonValue v && v.TryGetValue<string>(out var s) ? s : null;
        long? Num(string key) => o[key] is JsonValue v && v.TryGetValue<long>(out var n) ? n : null;
        var final = Str("final");
        var stem = Path.GetFileName(path)[..^".json".Length];
        if (Str("tool") != Tool || Str("host") is not { } host || Num("pid") is not { } pid || Num("start_ticks") is not { } start
            || final is null || final.Length == 0 || final.Contains('/', StringComparison.Ordinal) || final.Contains('\\', StringComparison.Ordinal) || final is "." or ".."
            || !stem.StartsWith("." + (final.Length > 100 ? final[..100] : final) + ".", StringComparison.Ordinal)
            || Str("build") != stem + ".new" || Str("aside") != stem + ".old" || pid is < 0 or > int.MaxValue)
            return null;
        return (new ProcessIdentity(host, (int)pid, start), final, stem + ".new", stem + ".old");
    }

    static bool DeleteFolder(string folder, TextWriter log)
    {
        try
        {
            if (Directory.Exists(folder)) Directory.Delete(folder, recursive: true);
            return true;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            log.WriteLine($"{Tool}: warning: cannot remove {TerminalText.Neutralise(folder, false)} ({TerminalText.Neutralise(e.Message, false)}); the next export into this folder tries again");
            return false;
        }
    }

    static void DeleteFile(string file)
    {
        try { File.Delete(file); }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException) { }
    }

    [GeneratedRegex(@"^\..+\.sedd-export-\d+-[0-9a-f]{8}\.json$", RegexOptions.CultureInvariant)]
    private static partial Regex JournalName();
}

/// <summary>Thrown by <see cref="PackageReplacement.CrashAt"/>: the process "dies" here, and nothing is rolled back.</summary>
/// <param name="step">Where.</param>
sealed class SimulatedCrashException(string step) : Exception($"simulated crash at {step}");
