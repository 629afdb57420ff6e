using System.Text.Json;
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
/// Every missing input is one line naming the README command that creates it.
/// </summary>
sealed class Workspace
{
    const string Train = "dotnet run --project trainer -c Release --";

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

    /// <summary>An absolute path for a root-relative one.</summary>
    public string Full(string path) => Path.GetFullPath(Path.Combine(Root, path));

    /// <summary>A path relative to the root, with forward slashes, for the report.</summary>
    public string Relative(string path) => Path.GetRelativePath(Root, path).Replace('\\', '/');

    /// <summary>The checkpoint at <paramref name="step"/> of a run.</summary>
    public CheckpointInfo CheckpointAt(string run, long step)
    {
        var folder = Path.Combine(RunFolder(run), "checkpoints", $"step-{step:D8}");
        if (!File.Exists(Path.Combine(folder, "state.json")))
        {
            var have = string.Join(", ", Checkpoint.All(Full(run)).Select(d => Path.GetFileName(d)));
            throw new SeddException($"{run} has no checkpoint at step {step} (it has: {have}); train it to that step with: {TrainHint(run)}", SeddException.BadInput);
        }
        return ReadInfo(folder);
    }

    /// <summary>
    /// The run's best-validation checkpoint: the latest state's BestValidStep (kept by pruning). When that
    /// folder is gone (a run without validation), the latest checkpoint, with a note saying so.
    /// </summary>
    public (CheckpointInfo Checkpoint, string? Note) BestCheckpoint(string run)
    {
        var latest = Checkpoint.Latest(RunFolder(run))
            ?? throw new SeddException($"{run} has no checkpoint yet; create one with: {TrainHint(run)}", SeddException.BadInput);
        var info = ReadInfo(latest);
        var best = Path.Combine(RunFolder(run), "checkpoints", $"step-{info.BestValidStep:D8}");
        if (info.BestValidStep > 0 && File.Exists(Path.Combine(best, "state.json"))) return (ReadInfo(best), null);
        return (info, $"{run}: best-validation checkpoint (step {info.BestValidStep}) not on disk; using the latest, step {info.Step}");
    }

    /// <summary>The model package: <paramref name="option"/>, else the one folder under models/ with a manifest.</summary>
    public ModelPackage OpenPackage(string? option)
    {
        const string hint = "export one with: dotnet run --project exporter -c Release -- runs/brown-absorb-default --out models/<name> (README), or pass --package";
        string folder;
        if (option is not null)
        {
            folder = Full(option);
            if (!File.Exists(Path.Combine(folder, ModelPackage.ManifestFile)))
                throw new SeddException($"model package {option} not found (no {ModelPackage.ManifestFile}); {hint}", SeddException.BadInput);
        }
        else
        {
            var models = Full("models");
            var found = Directory.Exists(models)
                ? Directory.GetDirectories(models).Where(d => File.Exists(Path.Combine(d, ModelPackage.ManifestFile))).Order(StringComparer.Ordinal).ToArray()
                : [];
            if (found.Length == 0) throw new SeddException($"no model package under models/; {hint}", SeddException.BadInput);
            if (found.Length > 1)
                throw new SeddException($"models/ holds {found.Length} packages ({string.Join(", ", found.Select(Path.GetFileName))}); choose one with --package", SeddException.Usage);
            folder = found[0];
        }
        return ModelPackage.Open(folder);
    }

    /// <summary>Fails unless <paramref name="data"/> holds prepared tokens.</summary>
    public string RequireData(string data, string prepareHint)
    {
        var folder = Full(data);
        if (!File.Exists(Path.Combine(folder, TokenFileMeta.FileName)))
            throw new SeddException($"prepared data {data} not found (no {TokenFileMeta.FileName}); create it with: {Train} {prepareHint}", SeddException.BadInput);
        return folder;
    }

    /// <summary>
    /// The zero-shot corpus: prepared on first use (npm nlp-corpus 4.4.0, everything in the test split),
    /// with the tokenizer of the Brown data the models were trained on.
    /// </summary>
    public string EnsureNlpCorpus(string data, string brown, TextWriter log)
    {
        var folder = Full(data);
        if (File.Exists(Path.Combine(folder, TokenFileMeta.FileName))) return folder;
        var tokenizer = TokenFileMeta.Load(Full(brown)).Tokenizer;
        log.WriteLine($"preparing {data} (npm nlp-corpus, tokenizer {tokenizer}) ...");
        new PrepareCommand(log).Run(new PrepareOptions { Corpus = Sedd.Trainer.Data.NlpCorpus.Name, Output = folder, Tokenizer = tokenizer });
        return folder;
    }

    /// <summary>The README command that trains <paramref name="run"/> (its config shares the run's name).</summary>
    public string TrainHint(string run)
    {
        var name = Path.GetFileName(Path.TrimEndingDirectorySeparator(run));
        var config = $"configs/{name}.json";
        return File.Exists(Full(config)) ? $"{Train} train --config {config}" : $"{Train} train --config <config> (output {run})";
    }

    string RunFolder(string run)
    {
        var folder = Full(run);
        if (!Directory.Exists(Path.Combine(folder, "checkpoints")))
            throw new SeddException($"run folder {run} not found (no checkpoints/); create it with: {TrainHint(run)}", SeddException.BadInput);
        return folder;
    }

    static CheckpointInfo ReadInfo(string folder)
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
