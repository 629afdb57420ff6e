using System.Globalization;
using System.Text.RegularExpressions;
using Sedd.Runtime;
using Sedd.Runtime.IO;
using ModelManifestLimits = Sedd.Runtime.Package.ModelManifest;

namespace Sedd.Exporter;

/// <summary>
/// Shape of a SEDD score network (spec §5) as the exporter needs it. The sizes that tensor shapes
/// determine (vocabulary, hidden size, cond_dim, blocks, frequency-embedding width, MLP width) are
/// read from the weights by <see cref="Infer"/>; the head count and the output scaling cannot be
/// (checkpoints/README.md §2) and come from the config.
/// </summary>
public sealed partial record ScoreNetworkArchitecture
{
    /// <summary>States D the network reads and scores: V + 1 for absorb, V for uniform.</summary>
    public required int Vocab { get; init; }

    /// <summary>Hidden size H.</summary>
    public required int HiddenSize { get; init; }

    /// <summary>Attention heads; head dimension = H / heads.</summary>
    public required int Heads { get; init; }

    /// <summary>Noise-conditioning width C.</summary>
    public required int CondDim { get; init; }

    /// <summary>Number of transformer blocks.</summary>
    public required int Blocks { get; init; }

    /// <summary>Subtract ln(expm1s(σ)) + ln(vocab − 1) from the output (absorb only, spec §5.7).</summary>
    public required bool ScaleBySigma { get; init; }

    /// <summary>Longest sequence the exported graph accepts: the rotary tables are precomputed up to it.</summary>
    public required int MaxLength { get; init; }

    /// <summary>Width of the sinusoidal σ features (spec §5.3: 256).</summary>
    public int FrequencyEmbeddingSize { get; init; } = 256;

    /// <summary>Inner width of the block MLP (spec §5.5: 4H).</summary>
    public int MlpHidden { get; init; }

    /// <summary>Base of the rotary frequencies (spec §5.4: 10000).</summary>
    public double RotaryBase { get; init; } = 10000;

    /// <summary>LayerNorm epsilon (spec §5.5: 1e-5).</summary>
    public float LayerNormEps { get; init; } = 1e-5f;

    /// <summary>Condition on σ = 0 whatever σ̄ is (the trainer's time-independent option); §5.7 still uses σ̄.</summary>
    public bool TimeIndependent { get; init; }

    /// <summary>
    /// Output post-processing (the trainer's <c>model.parameterization</c>): "score" (default; spec §5.7,
    /// and every imported authors' checkpoint) or "normalized" (needs <see cref="ScaleBySigma"/>): over the
    /// real-token columns log_softmax − ln expm1s(σ̄), −ln expm1s(σ̄) in the mask column, then the own
    /// token's 0, so <c>log_score</c> keeps its meaning for the samplers.
    /// </summary>
    public string Parameterization { get; init; } = "score";

    /// <summary>Whether <see cref="Parameterization"/> is "normalized".</summary>
    public bool Normalized => Parameterization == "normalized";

    /// <summary>Head dimension H / heads.</summary>
    public int HeadDim => HiddenSize / Heads;

    /// <summary>
    /// Reads the sizes from the weights (names of spec §5.8) and checks every tensor's shape.
    /// Throws <see cref="SeddException"/> naming the tensor that is missing, unexpected or mis-shaped.
    /// </summary>
    /// <param name="weights">Tensors by state_dict name.</param>
    /// <param name="heads">Attention heads (config <c>model.n_heads</c>).</param>
    /// <param name="scaleBySigma">Config <c>model.scale_by_sigma</c>.</param>
    /// <param name="maxLength">Longest sequence to support (config <c>model.length</c>).</param>
    /// <param name="rotaryBase">Base of the rotary frequencies (10000 in every released model).</param>
    public static ScoreNetworkArchitecture Infer(IReadOnlyDictionary<string, SafeTensor> weights, int heads, bool scaleBySigma, int maxLength,
        double rotaryBase = 10000)
    {
        ArgumentNullException.ThrowIfNull(weights);
        var embedding = Get(weights, "vocab_embed.embedding", 2);
        var sigmaIn = Get(weights, "sigma_map.mlp.0.weight", 2);
        int blocks = 0;
        foreach (var name in weights.Keys)
        {
            var m = BlockIndex().Match(name);
            if (!m.Success) continue;
            if (!int.TryParse(m.Groups[1].Value, NumberStyles.None, CultureInfo.InvariantCulture, out int index) || index >= ModelManifestLimits.MaxBlocks)
                throw Bad($"tensor {name} names block {m.Groups[1].Value}; a network has at most {ModelManifestLimits.MaxBlocks} blocks");
            blocks = Math.Max(blocks, index + 1);
        }
        var mlp = weights.TryGetValue("blocks.0.mlp.0.weight", out var t) ? t : null;
        var arch = new ScoreNetworkArchitecture
        {
            Vocab = Dim(embedding, 0, "vocab_embed.embedding"),
            HiddenSize = Dim(embedding, 1, "vocab_embed.embedding"),
            CondDim = Dim(sigmaIn, 0, "sigma_map.mlp.0.weight"),
            FrequencyEmbeddingSize = Dim(sigmaIn, 1, "sigma_map.mlp.0.weight"),
            Blocks = blocks,
            MlpHidden = mlp is { Shape.Length: 2 } ? Dim(mlp, 0, "blocks.0.mlp.0.weight") : (int)Math.Min(int.MaxValue, 4L * Dim(embedding, 1, "vocab_embed.embedding")),
            Heads = heads,
            ScaleBySigma = scaleBySigma,
            MaxLength = maxLength,
            RotaryBase = rotaryBase,
        };
        arch.Validate();
        arch.CheckWeights(weights);
        return arch;
    }

    /// <summary>Every parameter the network needs, with its shape (spec §5.8; the rotary buffer is not one).</summary>
    public IEnumerable<(string Name, long[] Shape)> ParameterShapes()
    {
        long v = Vocab, h = HiddenSize, c = CondDim, f = FrequencyEmbeddingSize, m = MlpHidden;
        yield return ("vocab_embed.embedding", [v, h]);
        yield return ("sigma_map.mlp.0.weight", [c, f]);
        yield return ("sigma_map.mlp.0.bias", [c]);
        yield return ("sigma_map.mlp.2.weight", [c, c]);
        yield return ("sigma_map.mlp.2.bias", [c]);
        for (int i = 0; i < Blocks; i++)
        {
            var p = $"blocks.{i}.";
            yield return (p + "norm1.weight", [h]);
            yield return (p + "attn_qkv.weight", [3 * h, h]);
            yield return (p + "attn_out.weight", [h, h]);
            yield return (p + "norm2.weight", [h]);
            yield return (p + "mlp.0.weight", [m, h]);
            yield return (p + "mlp.0.bias", [m]);
            yield return (p + "mlp.2.weight", [h, m]);
            yield return (p + "mlp.2.bias", [h]);
            yield return (p + "adaLN_modulation.weight", [6 * h, c]);
            yield return (p + "adaLN_modulation.bias", [6 * h]);
        }
        yield return ("output_layer.norm_final.weight", [h]);
        yield return ("output_layer.linear.weight", [v, h]);
        yield return ("output_layer.linear.bias", [v]);
        yield return ("output_layer.adaLN_modulation.weight", [2 * h, c]);
        yield return ("output_layer.adaLN_modulation.bias", [2 * h]);
    }

    /// <summary>Rotary inverse frequencies θ_k = base^(−2k/d), k = 0 … d/2 − 1, in double (spec §5.4).</summary>
    public double[] RotaryInverseFrequencies()
    {
        var theta = new double[HeadDim / 2];
        for (int k = 0; k < theta.Length; k++) theta[k] = Math.Pow(RotaryBase, -2.0 * k / HeadDim);
        return theta;
    }

    /// <summary>Throws <see cref="SeddException"/> when the sizes cannot describe a SEDD network.</summary>
    public void Validate()
    {
        if (HiddenSize <= 0 || Heads <= 0 || HiddenSize % Heads != 0)
            throw Bad($"hidden size {HiddenSize} must be a positive multiple of n_heads {Heads}");
        if (HeadDim % 2 != 0) throw Bad($"head dimension {HeadDim} (hidden size / n_heads) must be even for rotary embeddings");
        if (Vocab < 2) throw Bad($"vocabulary {Vocab} must have at least 2 states");
        if (CondDim <= 0 || Blocks <= 0 || MlpHidden <= 0) throw Bad($"cond_dim {CondDim}, n_blocks {Blocks} and MLP width {MlpHidden} must be positive");
        if (FrequencyEmbeddingSize <= 0 || FrequencyEmbeddingSize % 2 != 0) throw Bad($"σ frequency embedding width {FrequencyEmbeddingSize} must be positive and even");
        if (MaxLength <= 0) throw Bad($"maximum length {MaxLength} must be positive");
        if (Parameterization is not ("score" or "normalized")) throw Bad($"parameterization must be score or normalized, found '{Parameterization}'");
        if (Normalized && !ScaleBySigma) throw Bad("the normalized parameterization is defined for the absorbing graph only (outputs scaled by σ)");
        // The limits a package may declare (the runtime refuses anything larger); the rotary tables of a
        // longer graph alone would need MaxLength × head dimension × 8 bytes.
        if (MaxLength > ModelManifestLimits.MaxLength) throw Bad($"maximum length {MaxLength:N0} is more than the {ModelManifestLimits.MaxLength:N0} positions a package may have");
        if (Vocab > ModelManifestLimits.MaxTokens + 1) throw Bad($"vocabulary {Vocab:N0} is more than the {ModelManifestLimits.MaxTokens:N0} tokens a package may have");
        if (HiddenSize > ModelManifestLimits.MaxWidth || CondDim > ModelManifestLimits.MaxWidth || FrequencyEmbeddingSize > ModelManifestLimits.MaxWidth)
            throw Bad($"hidden size {HiddenSize}, cond_dim {CondDim} and σ frequency width {FrequencyEmbeddingSize} may be at most {ModelManifestLimits.MaxWidth}");
        if (Blocks > ModelManifestLimits.MaxBlocks) throw Bad($"{Blocks} blocks are more than the {ModelManifestLimits.MaxBlocks} a package may have");
    }

    /// <summary>Checks that <paramref name="weights"/> holds exactly the parameters of this architecture with their shapes.</summary>
    /// <param name="weights">Tensors by state_dict name.</param>
    public void CheckWeights(IReadOnlyDictionary<string, SafeTensor> weights)
    {
        ArgumentNullException.ThrowIfNull(weights);
        var expected = new HashSet<string>(StringComparer.Ordinal) { "rotary_emb.inv_freq" };
        foreach (var (name, shape) in ParameterShapes())
        {
            expected.Add(name);
            if (!weights.TryGetValue(name, out var t)) throw Bad($"weights lack {name} (expected shape [{string.Join(", ", shape)}])");
            if (!t.Shape.SequenceEqual(shape))
                throw Bad($"{name} has shape [{string.Join(", ", t.Shape)}], expected [{string.Join(", ", shape)}]");
        }
        foreach (var name in weights.Keys)
            if (!expected.Contains(name)) throw Bad($"unexpected tensor {name} in the weights (not a SEDD parameter of this architecture)");
        // The buffer is recomputed; a stored one that disagrees means another rotary base or head split.
        if (weights.TryGetValue("rotary_emb.inv_freq", out var stored))
        {
            var theta = RotaryInverseFrequencies();
            var got = stored.ToFloats();
            if (got.Length != theta.Length) throw Bad($"rotary_emb.inv_freq has {got.Length} values, head dimension {HeadDim} needs {theta.Length} (check n_heads)");
            for (int k = 0; k < theta.Length; k++)
                if (Math.Abs(got[k] - theta[k]) > 1e-6 * Math.Abs(theta[k]) + 1e-12)
                    throw Bad($"rotary_emb.inv_freq[{k}] = {got[k]} but base {RotaryBase} and head dimension {HeadDim} give {theta[k]}");
        }
    }

    static SafeTensor Get(IReadOnlyDictionary<string, SafeTensor> weights, string name, int rank)
    {
        if (!weights.TryGetValue(name, out var t)) throw Bad($"weights lack {name}");
        if (t.Shape.Length != rank) throw Bad($"{name} has rank {t.Shape.Length}, expected {rank}");
        return t;
    }

    static SeddException Bad(string message) => new(message, SeddException.BadInput);

    // A tensor dimension as an int; a crafted file may claim more (with no data behind it).
    static int Dim(SafeTensor t, int axis, string name) =>
        t.Shape[axis] <= int.MaxValue ? (int)t.Shape[axis] : throw Bad($"{name} has dimension {t.Shape[axis]}, more than any network has");

    [GeneratedRegex(@"^blocks\.(\d+)\.")]
    private static partial Regex BlockIndex();
}
