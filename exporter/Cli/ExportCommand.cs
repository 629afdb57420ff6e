using System.Globalization;
using Cocona;
using Cocona.Application;
using Sedd.Exporter.Sources;
using Sedd.Runtime;
using Sedd.Runtime.IO;

namespace Sedd.Exporter.Cli;

/// <summary>The single sedd-export command.</summary>
sealed class ExportCommand(ICoconaAppContextAccessor context)
{
    /// <summary>Largest --notes file accepted (it becomes a section of the model card).</summary>
    public const long MaxNotesBytes = 1 << 20;

    [PrimaryCommand]
    [Command(Description = "Export a checkpoint (sedd-train checkpoint or run folder, the authors' hub folder, or their run_train.py .pth) as a verified ONNX model package.")]
    public int Export(
        [Argument(Description = "Checkpoint folder, run folder, hub folder (config.json + model.safetensors/pytorch_model.bin) or .pth file")] string source,
        [Option("out", Description = "The package folder to write")] string output,
        [Option("precision", Description = "fp32 (default), fp16 or int8")] string precision = "fp32",
        [Option("weights", Description = "ema (default) or online")] string weights = "ema",
        [Option("max-length", Description = "Longest sequence the graph accepts (default: the trained length)")] int? maxLength = null,
        [Option("force", Description = "Replace an existing --out package (atomically; only a Sedd model package)")] bool force = false,
        [Option("eval", Description = "JSON written by sedd-train eval --json, recorded in the manifest")] string? eval = null,
        [Option("corpus", Description = "Corpus name for the provenance when the checkpoint does not record it")] string? corpus = null,
        [Option("config", Description = "Hydra config of a .pth checkpoint (default: <pth dir>/../.hydra/config.yaml)")] string? config = null,
        [Option("notes", Description = "Markdown file appended to the model card (what the numbers do not say)")] string? notes = null)
    {
        var gate = ExporterApp.Interruption;
        using var link = CancellationTokenSource.CreateLinkedTokenSource(context.Current?.CancellationToken ?? CancellationToken.None, gate.Token);
        var cancel = link.Token;
        cancel.ThrowIfCancellationRequested();
        UserFiles.RequirePathArgument(source, "the source (argument <source>)");
        UserFiles.RequirePathArgument(output, "--out");
        if (maxLength is <= 0) throw new SeddException($"--max-length must be positive, got {maxLength}", SeddException.Usage);
        if (precision is not ("fp32" or "fp16" or "int8")) throw new SeddException($"--precision must be fp32, fp16 or int8, got '{precision}'", SeddException.Usage);
        if (notes != null) UserFiles.RequirePathArgument(notes, "--notes");
        var evaluation = eval != null ? EvaluationFile.Read(eval, cancel) : null;
        var notesText = notes != null ? UserFiles.ReadAllText(notes, "--notes file", MaxNotesBytes, cancel) : null;
        var exported = SourceLoader.Load(source, weights, maxLength, corpus, config, cancel);
        if (maxLength > exported.TrainedLength)
            throw new SeddException($"--max-length {maxLength} exceeds the trained length {exported.TrainedLength}", SeddException.Usage);

        // --out may not hold or lie inside any input of this export (the source as given, say a run folder).
        var inputs = new List<(string, string)> { (source, "source") };
        if (config != null) inputs.Add((config, "--config file"));
        else if (exported.Kind == "pth" && RawTrainingCheckpoint.DefaultConfig(source) is { } hydra) inputs.Add((hydra, "run's config"));
        if (eval != null) inputs.Add((eval, "--eval file"));
        if (notes != null) inputs.Add((notes, "--notes file"));
        var result = PackageWriter.Write(exported, output, precision, force, evaluation, Console.Error, notes: notesText,
            cancel: cancel, gate: gate, inputs: inputs, releaseWeights: true);
        var c = CultureInfo.InvariantCulture;
        Console.WriteLine($"wrote {TerminalText.Neutralise(result.Folder, false)}: {exported.GraphType} model, {result.Manifest.Model.Parameters.ToString("N0", c)} parameters, " +
            $"{precision}, {(result.Bytes / 1048576.0).ToString("F2", c)} MiB in {result.Elapsed.TotalSeconds.ToString("F1", c)} s");
        Console.WriteLine(result.Verification);
        return 0;
    }
}
