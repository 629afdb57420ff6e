using System.Diagnostics;
using Sedd.Runtime;
using Sedd.Runtime.IO;
using Sedd.Trainer.Evidence;

namespace Sedd.Evidence;

/// <summary>
/// Runs every section in one process on one machine and writes evidence.md, evidence.json, quality.png
/// and speed.png into the output folder; with the flags, also into docs/results and the README block.
/// Measuring order (quality, caching, infilling, limits, likelihood) puts the long likelihood
/// evaluations last; the report keeps its reading order.
/// </summary>
static class EvidenceRunner
{
    /// <summary>The files a run writes.</summary>
    public static readonly string[] Files = ["evidence.md", "evidence.json", "quality.png", "speed.png"];

    /// <summary>The whole evidence run.</summary>
    public static void Run(EvidenceOptions o, TextWriter log, CancellationToken cancel)
    {
        var clock = Stopwatch.StartNew();
        var ws = Workspace.Find();
        // Run configs name their data relative to the repository root.
        Directory.SetCurrentDirectory(ws.Root);
        var output = PrepareFolder(ws, o.Output, "--output");
        var results = o.WriteResults ? PrepareFolder(ws, o.Results, "the results folder") : null;
        if (o.WriteReadme && !File.Exists(ws.Full(o.Readme)))
            throw new SeddException($"README {o.Readme} not found; --write-readme rewrites its evidence block", SeddException.BadInput);
        TorchSharp.torch.set_num_threads(o.Threads);
        var machine = MachineInfo.Collect(ws.Root, o.Threads);
        log.WriteLine($"sedd-evidence{(o.Quick ? " --quick" : "")}: {machine.Describe()}");
        log.WriteLine($"writing into {ws.Relative(output)}" + (results is null ? " (tracked files untouched; --write-results and --write-readme write docs/results and the README block)" : $" and {ws.Relative(results)}") +
            (o.WriteReadme ? $", and the evidence block of {o.Readme}" : ""));
        void Done(string what) => log.WriteLine($"[{clock.Elapsed:mm\\:ss}] {what} done");

        // Every input is found (or, in quick mode, made) before the first long step.
        var package = ws.OpenPackage(o.Model);
        // Missing runs are refused (full run) before any data is prepared.
        var runs = StandInRuns.Resolve(ws, o, () => ws.EnsureBrown(o.Data, log, cancel), output, log, cancel);
        var brown = ws.EnsureBrown(o.Data, log, cancel);
        var nlp = ws.EnsureNlpCorpus(o.NlpCorpus, o.Data, log, cancel);
        var (arBest, arNote) = ws.BestCheckpoint(runs.Ar);
        var (scorerBest, scorerNote) = ws.BestCheckpoint(runs.Scorer);
        foreach (var note in new[] { arNote, scorerNote }.OfType<string>()) log.WriteLine($"note: {note}");
        var m = package.Manifest;

        var report = new EvidenceReport(machine);
        report.Data("options", o);
        report.Data("package", new { folder = ws.Relative(package.Folder), m.Graph, m.Model, m.Provenance, onnx_precision = m.Onnx.Precision });
        report.Data("runs", new { ar = ws.Relative(arBest.Folder), scorer = ws.Relative(scorerBest.Folder), stand_ins = runs.StandIns });

        QualityResult quality;
        using (var ar = ArCheckpoint.Load(arBest.Folder))
        using (var scorer = ArCheckpoint.Load(scorerBest.Folder))
            quality = QualitySection.Run(ws, o, package, ar, scorer, brown, log, cancel);
        Done("quality and speed");
        var caching = CachingSection.Run(o, package, log, cancel);
        Done("caching");
        var infill = InfillSection.Run(o, package, brown, log, cancel);
        Done("infilling");
        var limits = LimitsSection.Run(ws, o, package, brown, log, cancel);
        Done("limits");
        var likelihood = LikelihoodSection.Run(ws, o, package, runs.Ar, brown, nlp, log, cancel);
        Done("likelihood");

        var subtitle = $"{ws.Relative(package.Folder)}, N = {o.NumSamples}, {machine.DateUtc}" + (o.Quick ? " (quick check: not evidence)" : "");
        EvidencePlots.Quality(quality.Rows, Path.Combine(output, "quality.png"), subtitle);
        EvidencePlots.Speed(quality.Rows, Path.Combine(output, "speed.png"), subtitle);

        Header(report, ws, o, package, arBest, runs, results);
        LikelihoodSection.Write(report, likelihood, o);
        QualitySection.Write(report, quality, "quality.png", o);
        report.Readme.AppendLine($"![generative perplexity against steps]({ReadmeLink(ws, o, results)}/quality.png)").AppendLine();
        SpeedSection.Write(report, quality.Rows, m.Model.TimeIndependent, o.Batch, machine.Simd);
        CachingSection.Write(report, caching);
        LimitsSection.Write(report, limits, o);
        InfillSection.Write(report, infill, o);
        report.Markdown.AppendLine($"Total wall time of this run: {clock.Elapsed.TotalMinutes:F1} minutes.");
        report.Data("wall_seconds", clock.Elapsed.TotalSeconds);

        var (md, json) = report.Save(output);
        log.WriteLine($"wrote {ws.Relative(md)}, {ws.Relative(json)}, quality.png, speed.png");
        if (results != null)
        {
            foreach (var file in Files) AtomicFile.WriteAllBytes(Path.Combine(results, file), File.ReadAllBytes(Path.Combine(output, file)));
            log.WriteLine($"wrote {string.Join(", ", Files)} into {ws.Relative(results)}");
        }
        if (o.WriteReadme)
        {
            ReadmeBlock.Update(ws.Full(o.Readme), report.Readme.ToString());
            log.WriteLine($"updated {o.Readme} between {ReadmeBlock.Begin} and {ReadmeBlock.End}");
        }
        log.WriteLine($"done in {clock.Elapsed.TotalMinutes:F1} minutes");
    }

    static void Header(EvidenceReport report, Workspace ws, EvidenceOptions o, Sedd.Runtime.Package.ModelPackage package, CheckpointInfo arBest, EvidenceRuns runs, string? results)
    {
        var m = package.Manifest;
        var packageLine = $"`{ws.Relative(package.Folder)}` ({m.Graph.Type}, {m.Model.Parameters:N0} parameters, " +
            $"{(m.Model.TimeIndependent ? "time-independent" : "time-dependent")}, {m.Onnx.Precision}; from {m.Provenance.Source}" +
            (m.Provenance.Steps is { } s ? $", step {s:N0}" : "") + (m.Provenance.Tokens is { } t ? $", {t:N0} training tokens" : "") + ")";
        var command = "dotnet run --project benchmarks/Sedd.Evidence -c Release --" + string.Concat(Environment.GetCommandLineArgs().Skip(1).Select(a => " " + Quote(a)));
        var machine = report.Machine;
        report.Markdown.AppendLine("# Evidence").AppendLine()
            .AppendLine($"Measured by `{command}` on {machine.Describe()}.").AppendLine()
            .AppendLine($"Model package: {packageLine}. AR baseline: `{ws.Relative(arBest.Folder)}`. Seed {o.Seed}.").AppendLine();
        var quick = "**Quick check (`--quick`): small K and N, few blocks" + (runs.StandIns.Count > 0 ? ", tiny stand-ins for missing runs" : "") + "; the numbers are not evidence.**";
        if (o.Quick) report.Markdown.AppendLine(quick).AppendLine();
        foreach (var note in runs.StandIns) report.Markdown.AppendLine($"- {note}");
        if (runs.StandIns.Count > 0) report.Markdown.AppendLine();
        var link = ReadmeLink(ws, o, results);
        report.Readme.AppendLine($"### Evidence ({machine.DateUtc})").AppendLine()
            .AppendLine($"Measured on {machine.Describe()}, by `{command}` (all tables and plots below; full report: [{link}/evidence.md]({link}/evidence.md), numbers: `{link}/evidence.json`). Model package: {packageLine}.").AppendLine();
        if (o.Quick) report.Readme.AppendLine(quick).AppendLine();
    }

    // The README links to where its files are: docs/results when they are written there.
    static string ReadmeLink(Workspace ws, EvidenceOptions o, string? results)
    {
        var readmeFolder = Path.GetDirectoryName(ws.Full(o.Readme))!;
        return Path.GetRelativePath(readmeFolder, results ?? ws.Full(o.Output)).Replace('\\', '/');
    }

    static string Quote(string arg) => arg.Length > 0 && arg.All(c => char.IsLetterOrDigit(c) || c is '-' or '_' or '.' or '/' or ',' or '=') ? arg : "'" + arg.Replace("'", "'\\''", StringComparison.Ordinal) + "'";

    // A folder to write into: created when missing; refused when something else (a file, a FIFO) has its name.
    static string PrepareFolder(Workspace ws, string path, string what)
    {
        var folder = ws.Full(UserFiles.RequirePathArgument(path, what));
        var kind = FileKinds.Of(folder);
        if (kind is not (FileKind.Missing or FileKind.Directory))
            throw new SeddException($"{what} {TerminalText.Neutralise(path, keepNewlines: false)} is {FileKinds.Describe(kind)}; expected a folder", SeddException.Usage);
        try
        {
            Directory.CreateDirectory(folder);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new SeddException($"cannot create {what} {TerminalText.Neutralise(path, keepNewlines: false)}: {e.Message}", SeddException.Environment);
        }
        return folder;
    }
}
