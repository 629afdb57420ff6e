using System.Globalization;
using Cocona;
using Sedd.Exporter.Sources;
using Sedd.Runtime;

namespace Sedd.Exporter.Cli;

/// <summary>The single sedd-export command.</summary>
sealed class ExportCommand
{
    [PrimaryCommand]
    [Command(Description = "Export a checkpoint (sedd-train checkpoint or run folder, the authors' hub folder, or their run_train.py .pth) as a verified ONNX model package.")]
    public int Export(
        [Argument(Description = "Checkpoint folder, run folder, hub folder (config.json + model.safetensors/pytorch_model.bin) or .pth file")] string source,
        [Option("out", Description = "Package folder to create")] string output,
        [Option("precision", Description = "fp32 (default), fp16 or int8")] string precision = "fp32",
        [Option("weights", Description = "ema (default) or online")] string weights = "ema",
        [Option("max-length", Description = "Longest sequence the graph accepts (default: the trained length)")] int? maxLength = null,
        [Option("force", Description = "Replace an existing --out folder (atomically)")] bool force = false,
        [Option("eval", Description = "JSON written by sedd-train eval --json, recorded in the manifest")] string? eval = null,
        [Option("corpus", Description = "Corpus name for the provenance when the checkpoint does not record it")] string? corpus = null,
        [Option("config", Description = "Hydra config of a .pth checkpoint (default: <pth dir>/../.hydra/config.yaml)")] string? config = null,
        [Option("notes", Description = "Markdown file appended to the model card (what the numbers do not say)")] string? notes = null)
    {
        if (maxLength is <= 0) throw new SeddException($"--max-length must be positive, got {maxLength}", SeddException.Usage);
        if (precision is not ("fp32" or "fp16" or "int8")) throw new SeddException($"--precision must be fp32, fp16 or int8, got '{precision}'", SeddException.Usage);
        var evaluation = eval != null ? EvaluationFile.Read(eval) : null;
        var exported = SourceLoader.Load(source, weights, maxLength, corpus, config);
        if (maxLength > exported.TrainedLength)
            throw new SeddException($"--max-length {maxLength} exceeds the trained length {exported.TrainedLength}", SeddException.Usage);
        string? notesText = null;
        if (notes != null)
        {
            if (!File.Exists(notes)) throw new SeddException($"--notes: {notes} does not exist", SeddException.BadInput);
            notesText = File.ReadAllText(notes);
        }
        var result = PackageWriter.Write(exported, output, precision, force, evaluation, Console.Error, notes: notesText);
        var c = CultureInfo.InvariantCulture;
        Console.WriteLine($"wrote {result.Folder}: {exported.GraphType} model, {result.Manifest.Model.Parameters.ToString("N0", c)} parameters, " +
            $"{precision}, {(result.Bytes / 1048576.0).ToString("F2", c)} MiB in {result.Elapsed.TotalSeconds.ToString("F1", c)} s");
        Console.WriteLine(result.Verification);
        return 0;
    }
}
