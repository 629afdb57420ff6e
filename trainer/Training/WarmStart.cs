using Sedd.Runtime;
using Sedd.Runtime.IO;
using Sedd.Runtime.Package;
using Sedd.Trainer.Data;
using TorchSharp;
using static TorchSharp.torch;

namespace Sedd.Trainer.Training;

/// <summary>
/// Weights and counters for a run that starts from a model package (<c>sedd-train train --init</c>):
/// the package's <c>model.safetensors</c> (the EMA weights it was exported from) become both the
/// online weights and the EMA shadows; the step and token counters continue from the package's
/// provenance. The optimiser moments are not in a package, so AdamW starts fresh and the learning
/// rate warms up again from the package's step. Use it to continue a model whose checkpoints are
/// gone, or to fine-tune a shipped model on another corpus with the same tokenizer.
/// The run's <c>model.parameterization</c> may differ from the package's: the weights are the same,
/// only the output post-processing changes (that is how a "score" model is continued as "normalized").
/// </summary>
/// <param name="Folder">Package folder (absolute).</param>
/// <param name="Weights">Tensors by state_dict name.</param>
/// <param name="Steps">Optimiser steps the package's weights had (0 when unknown).</param>
/// <param name="Tokens">Training tokens the package's weights had seen (0 when unknown).</param>
/// <param name="Parameterization">The package's parameterization ("score" for packages that predate the field).</param>
public sealed record WarmStart(string Folder, Dictionary<string, Tensor> Weights, long Steps, long Tokens, string Parameterization = "score")
{
    /// <summary>Opens a package (checksums verified) and checks it fits the run's config and data.</summary>
    /// <param name="folder">Package folder.</param>
    /// <param name="config">The run's resolved config.</param>
    /// <param name="data">The run's training split (its tokenizer must be the package's).</param>
    public static WarmStart Load(string folder, TrainConfig config, TokenDataset data)
    {
        // Only regular files are read: a FIFO or device among the package's files is refused here, never waited on.
        UserFiles.RequirePathArgument(folder, "--init");
        if (Directory.Exists(folder))
            foreach (var entry in Directory.EnumerateFileSystemEntries(folder))
                if (FileKinds.Of(entry) is not (FileKind.Regular or FileKind.Directory))
                    UserFiles.RequireRegularFile(entry, $"--init {folder}: package file");
        var package = ModelPackage.Open(folder);
        var m = package.Manifest;
        var where = $"--init {folder}";
        void Same<T>(string key, T inPackage, T inRun)
        {
            if (!EqualityComparer<T>.Default.Equals(inPackage, inRun))
                throw new SeddException($"{where}: the package has {key}={inPackage}, but this run has {key}={inRun}", SeddException.BadInput);
        }
        if (config.Objective != "sedd")
            throw new SeddException($"{where}: a model package holds a SEDD score network; objective {config.Objective} cannot start from it", SeddException.BadInput);
        Same("graph.type", m.Graph.Type, config.Graph.Type);
        Same("noise.type", m.Noise.Type, config.Noise.Type);
        Same("model.hidden_size", m.Model.HiddenSize, config.Model.HiddenSize);
        Same("model.cond_dim", m.Model.CondDim, config.Model.CondDim);
        Same("model.n_blocks", m.Model.NBlocks, config.Model.NBlocks);
        Same("model.n_heads", m.Model.NHeads, config.Model.NHeads);
        Same("model.length", m.Length, config.Model.Length);
        Same("model.time_independent", m.Model.TimeIndependent, config.Model.TimeIndependent);
        Same("tokenizer", m.Tokenizer, data.Meta.Tokenizer);

        const string weightsFile = "model.safetensors";
        if (!m.Files.ContainsKey(weightsFile))
            throw new SeddException($"{where}: the package lists no {weightsFile} (packages written by sedd-export carry one)", SeddException.BadInput);
        var weights = TensorIO.Load(package.PathOf(weightsFile), $"{where}: package file");
        return new(package.Folder, weights, m.Provenance.Steps ?? 0, m.Provenance.Tokens ?? 0, m.Model.Parameterization);
    }

    /// <summary>
    /// The counters a run continues from: step, tokens and EMA updates from the package, the data
    /// position where a run of this batch and length would stand after that many tokens, and the
    /// learning-rate warm-up restarting at the package's step.
    /// </summary>
    /// <param name="blocks">Training blocks per epoch.</param>
    /// <param name="length">Tokens per block.</param>
    public TrainState InitialState(int blocks, int length)
    {
        long consumed = Tokens / length;
        return new TrainState
        {
            Step = Steps, Tokens = Tokens, EmaUpdates = Steps,
            Epoch = consumed / blocks, Cursor = consumed % blocks,
            WarmupFrom = Steps, InitFrom = Folder,
        };
    }
}
