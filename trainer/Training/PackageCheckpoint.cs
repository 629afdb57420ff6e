using Sedd.Runtime;
using Sedd.Runtime.Package;
using Sedd.Trainer.Model;
using TorchSharp;
using static TorchSharp.torch;

namespace Sedd.Trainer.Training;

/// <summary>
/// A model package (a folder with manifest.json and model.safetensors, as <c>sedd-export</c> writes it)
/// read like a checkpoint, for <c>sedd-train eval</c>: the config the TorchSharp network needs (graph,
/// noise, dimensions, time independence, parameterization, all from the manifest) and the package's
/// weights. Only fp32 packages: an int8 or fp16 package's model.safetensors still holds the fp32
/// weights, so scoring it here would report a bound its graph does not have; sedd-compare scores those
/// through ONNX Runtime.
/// </summary>
/// <param name="Folder">Package folder (absolute).</param>
/// <param name="Config">A SEDD config describing the package's network, with <c>data</c> set to the data folder to score.</param>
/// <param name="Weights">Tensors by state_dict name (the EMA weights the package was exported from).</param>
/// <param name="Tokenizer">The package's tokenizer spec; the data folder must use it.</param>
public sealed record PackageCheckpoint(string Folder, TrainConfig Config, Dictionary<string, Tensor> Weights, string Tokenizer)
{
    /// <summary>File of a package that holds the weights.</summary>
    public const string WeightsFile = "model.safetensors";

    /// <summary>True when <paramref name="folder"/> holds a package manifest (not a run or checkpoint folder).</summary>
    /// <param name="folder">Candidate folder.</param>
    public static bool Recognizes(string folder) => File.Exists(Path.Combine(folder, ModelPackage.ManifestFile));

    /// <summary>Opens the package (checksums verified) and builds its config; every refusal is one line.</summary>
    /// <param name="folder">Package folder.</param>
    /// <param name="data">Prepared data folder to score (a package does not record one).</param>
    public static PackageCheckpoint Load(string folder, string? data)
    {
        var package = ModelPackage.Open(folder);
        var m = package.Manifest;
        if (m.Onnx.Precision != "fp32")
            throw new SeddException($"{folder} is an {m.Onnx.Precision} package; sedd-train eval scores fp32 packages only (their weights are the graph's), " +
                $"use sedd-compare --bound-data to score the {m.Onnx.Precision} graph through ONNX Runtime", SeddException.BadInput);
        if (m.Model.ScaleBySigma != (m.Graph.Type == "absorb"))
            throw new SeddException($"{folder}: scale_by_sigma {m.Model.ScaleBySigma} with a {m.Graph.Type} graph is not a network the trainer builds (it scales exactly the absorbing graph's)", SeddException.BadInput);
        if (!m.Files.ContainsKey(WeightsFile))
            throw new SeddException($"{folder}: the package lists no {WeightsFile} (packages written by sedd-export carry one)", SeddException.BadInput);
        if (data is null)
            throw new SeddException($"a model package does not record its data folder; pass --data with a folder prepared with its tokenizer {m.Tokenizer}", SeddException.Usage);

        var config = new TrainConfig
        {
            Objective = "sedd",
            Data = data,
            Graph = new GraphConfig { Type = m.Graph.Type },
            Noise = new NoiseConfig { Type = m.Noise.Type, SigmaMin = m.Noise.SigmaMin ?? new NoiseConfig().SigmaMin, SigmaMax = m.Noise.SigmaMax ?? new NoiseConfig().SigmaMax },
            Model = new ModelConfig
            {
                HiddenSize = m.Model.HiddenSize, CondDim = m.Model.CondDim, NBlocks = m.Model.NBlocks, NHeads = m.Model.NHeads,
                Dropout = 0, Length = m.Length, TimeIndependent = m.Model.TimeIndependent, Parameterization = m.Model.Parameterization,
            },
        };
        var weights = TensorIO.Load(package.PathOf(WeightsFile));
        return new(package.Folder, config, weights, m.Tokenizer);
    }

    /// <summary>
    /// The weights for <paramref name="network"/>: the package's, plus the rotary buffer from the
    /// network itself when the package does not carry it (it is recomputed from the sizes either way).
    /// </summary>
    /// <param name="network">The freshly built network the weights go into.</param>
    public Dictionary<string, Tensor> WeightsFor(nn.Module network)
    {
        ArgumentNullException.ThrowIfNull(network);
        const string buffer = "rotary_emb.inv_freq";
        if (Weights.ContainsKey(buffer)) return Weights;
        var state = network.state_dict();
        return state.ContainsKey(buffer) ? new(Weights, StringComparer.Ordinal) { [buffer] = state[buffer] } : Weights;
    }
}
