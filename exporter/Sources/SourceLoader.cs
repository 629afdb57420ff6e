using Sedd.Runtime;
using Sedd.Runtime.IO;

namespace Sedd.Exporter.Sources;

/// <summary>Recognises what <c>&lt;source&gt;</c> is and reads it with the matching reader.</summary>
public static class SourceLoader
{
    /// <summary>
    /// A trainer checkpoint or run folder (state.json / checkpoints/), an authors' hub folder
    /// (config.json + model.safetensors or pytorch_model.bin), or an authors' training checkpoint file.
    /// </summary>
    /// <param name="source">Folder or file.</param>
    /// <param name="weights">"ema" or "online".</param>
    /// <param name="maxLength">Export length; null = the trained length.</param>
    /// <param name="corpus">Corpus name for the provenance when the source does not say.</param>
    /// <param name="config">Hydra config of a .pth checkpoint (default: its run's .hydra/config.yaml).</param>
    /// <param name="cancel">Checked while reading.</param>
    public static ExportSource Load(string source, string weights, int? maxLength, string? corpus, string? config, CancellationToken cancel = default)
    {
        UserFiles.RequirePathArgument(source, "the source (argument <source>)");
        if (config != null) UserFiles.RequirePathArgument(config, "--config");
        if (weights is not ("ema" or "online")) throw new SeddException($"--weights must be ema or online, got '{weights}'", SeddException.Usage);
        var kind = FileKinds.Of(source);
        if (kind == FileKind.Directory)
        {
            if (TrainerCheckpointSource.Recognizes(source)) return TrainerCheckpointSource.Load(source, weights, maxLength, corpus, cancel);
            if (FileKinds.Of(Path.Combine(source, "config.json")) != FileKind.Missing)
            {
                // Hub files carry one set of weights, inferred to be EMA (checkpoints/README.md §4).
                if (weights == "online") throw new SeddException($"{source} is a hub folder with one set of weights; --weights online needs a training checkpoint", SeddException.Usage);
                var hub = HubCheckpoint.Load(source, maxLength, cancel);
                var c = hub.Config;
                return new ExportSource
                {
                    Kind = "hf",
                    Location = source,
                    Architecture = hub.Architecture,
                    Weights = hub.Weights,
                    GraphType = c.GraphType,
                    Tokens = c.Tokens,
                    Noise = ExportSource.NoiseOf(c.NoiseType, c.SigmaMin, c.SigmaMax),
                    TrainedLength = c.Length,
                    Tokenizer = ExportSource.TokenizerFor(c.Tokens),
                    WeightsKind = "ema",
                    Corpus = corpus ?? "openwebtext",
                };
            }
            throw new SeddException($"{source} is not a checkpoint: expected a sedd-train checkpoint (state.json), a run folder (checkpoints/) or a hub folder (config.json + model.safetensors)", SeddException.BadInput);
        }
        if (kind == FileKind.Regular) return RawTrainingCheckpoint.Load(source, config, weights, maxLength, corpus, cancel);
        if (kind == FileKind.Missing) throw new SeddException($"{source} does not exist", SeddException.BadInput);
        throw new SeddException($"{source} is {FileKinds.Describe(kind)}; expected a checkpoint folder or a .pth file", SeddException.BadInput);
    }
}
