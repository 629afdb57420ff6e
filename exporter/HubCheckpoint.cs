using System.Collections;
using System.Globalization;
using Sedd.Exporter.Sources;
using Sedd.Runtime;
using Sedd.Runtime.IO;

namespace Sedd.Exporter;

/// <summary>
/// A checkpoint in the authors' Hugging Face layout (goldens/checkpoints/README.md §1): a folder with
/// the whole training <c>config.json</c> and <c>model.safetensors</c> and/or <c>pytorch_model.bin</c>
/// (plain state_dict names). The safetensors file is preferred, as the hub mixin does.
/// </summary>
/// <param name="Architecture">Sizes from the weights plus n_heads, scale_by_sigma and length from the config.</param>
/// <param name="Weights">Tensors by state_dict name.</param>
/// <param name="Metadata">Graph and noise facts for the ONNX metadata_props (keys prefixed <c>sedd.</c>).</param>
public sealed record HubCheckpoint(
    ScoreNetworkArchitecture Architecture,
    IReadOnlyDictionary<string, SafeTensor> Weights,
    IReadOnlyDictionary<string, string> Metadata)
{
    /// <summary>The parsed config.json.</summary>
    public required AuthorsConfig Config { get; init; }

    /// <summary>The weights file that was read.</summary>
    public required string WeightsFile { get; init; }

    /// <summary>
    /// Reads <c>config.json</c> (tokens, graph.type, noise, model.{n_heads, scale_by_sigma, length, ...})
    /// and the weights from <paramref name="folder"/>; the vocabulary is tokens + 1 for the
    /// absorbing graph (mask id = tokens), tokens for the uniform one. Unknown config keys are ignored.
    /// </summary>
    /// <param name="folder">The checkpoint folder.</param>
    /// <param name="maxLength">Longest sequence to export for; null takes <c>model.length</c>.</param>
    /// <param name="cancel">Checked while reading.</param>
    public static HubCheckpoint Load(string folder, int? maxLength = null, CancellationToken cancel = default)
    {
        var configPath = Path.Combine(folder, "config.json");
        var safetensors = Path.Combine(folder, "model.safetensors");
        var bin = Path.Combine(folder, "pytorch_model.bin");
        if (FileKinds.Of(configPath) == FileKind.Missing) throw new SeddException($"{folder} has no config.json (expected the authors' hub layout)", SeddException.BadInput);
        var config = AuthorsConfig.ReadJson(configPath, cancel);

        // Whatever is at a weights name is read (or refused in one line if it is not a regular file).
        string weightsPath;
        Dictionary<string, SafeTensor> weights;
        if (FileKinds.Of(safetensors) != FileKind.Missing) (weightsPath, weights) = (safetensors, Safetensors.Read(safetensors, cancel).Tensors);
        else if (FileKinds.Of(bin) != FileKind.Missing) (weightsPath, weights) = (bin, StateDict(TorchPickle.Load(bin, cancel), bin));
        else throw new SeddException($"{folder} has neither model.safetensors nor pytorch_model.bin", SeddException.BadInput);

        var arch = ScoreNetworkArchitecture.Infer(weights, config.Heads, config.ScaleBySigma, maxLength ?? config.Length);
        config.CheckAgainst(arch, weightsPath);
        return new HubCheckpoint(arch, weights, MetadataOf(config)) { Config = config, WeightsFile = weightsPath };
    }

    /// <summary>The <c>sedd.*</c> metadata_props of an authors' config.</summary>
    /// <param name="config">Parsed config.</param>
    public static Dictionary<string, string> MetadataOf(AuthorsConfig config)
    {
        ArgumentNullException.ThrowIfNull(config);
        var metadata = new Dictionary<string, string>(StringComparer.Ordinal)
        {
            ["sedd.graph"] = config.GraphType,
            ["sedd.tokens"] = config.Tokens.ToString(CultureInfo.InvariantCulture),
            ["sedd.noise"] = config.NoiseType,
            ["sedd.noise.sigma_min"] = config.SigmaMin.ToString("R", CultureInfo.InvariantCulture),
            ["sedd.noise.sigma_max"] = config.SigmaMax.ToString("R", CultureInfo.InvariantCulture),
        };
        if (config.GraphType == "absorb") metadata["sedd.mask_id"] = config.Tokens.ToString(CultureInfo.InvariantCulture);
        return metadata;
    }

    /// <summary>A pickled state_dict (name → tensor) as safetensors entries; anything else is a bad input.</summary>
    /// <param name="pickled">Unpickled object.</param>
    /// <param name="path">File name for messages.</param>
    public static Dictionary<string, SafeTensor> StateDict(object pickled, string path)
    {
        if (pickled is not IDictionary dict) throw TorchPickle.Bad(path, $"it holds a {pickled?.GetType().Name ?? "null"}, expected a state_dict (name → tensor)");
        var weights = new Dictionary<string, SafeTensor>(StringComparer.Ordinal);
        foreach (DictionaryEntry e in dict)
        {
            if (e.Key is not string name || e.Value is not SafeTensor t)
                throw TorchPickle.Bad(path, $"entry {e.Key} is not a named tensor (is this a training checkpoint? pass the .pth file itself)");
            weights[name] = t;
        }
        return weights;
    }
}
