using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;
using static TorchSharp.torch.nn;
using F = TorchSharp.torch.nn.functional;

namespace Sedd.Trainer.Model;

/// <summary>
/// The SEDD score network s_θ(x, σ̄) (SEDD transformer.SEDD, a DDiT; spec §5): token embedding,
/// σ̄-conditioning, rotary adaLN-zero transformer blocks, adaLN output layer, then the two
/// post-processing steps of §5.7. Parameter names are the reference's state_dict keys (§5.8).
/// </summary>
/// <remarks>
/// With <see cref="ModelConfig.Parameterization"/> "normalized" (absorbing graph only) step 1 of §5.7
/// becomes RADD's (Ou et al. 2024): over the V real-token columns, log_softmax(y) − ln expm1s(σ̄), so
/// at a masked position Σ_y exp(log-score_y) = 1/expm1s(σ̄) exactly, the true score's total; no −ln V
/// centring is needed, the softmax normalises. The mask column is set to −ln expm1s(σ̄) (a log-value
/// of 0 before the shift): at a masked position it is the own token, which step 2 sets to 0; at an
/// unmasked one neither the loss nor the absorbing samplers read it (real tokens never move), and this
/// value keeps the output's whole dependence on σ̄ the single −ln expm1s(σ̄) shift that the runtime's
/// exact caching of time-independent models relies on. Every entry is finite for σ̄ &gt; 0 whenever the
/// network's outputs are, however large: log_softmax subtracts the row maximum (no exp overflow), and
/// the mask column reads no network output.
/// </remarks>
public sealed class ScoreNetwork : Module<Tensor, Tensor, Tensor>
{
    readonly EmbeddingLayer vocab_embed;
    readonly TimestepEmbedder sigma_map;
    readonly Rotary rotary_emb;
    readonly ModuleList<DDiTBlock> blocks;
    readonly DDitFinalLayer output_layer;
    bool bf16Matmul;

    /// <summary>Builds a freshly initialised network (spec §5.9) in float32 on the CPU.</summary>
    /// <param name="config">Architecture (hidden size, blocks, heads, cond_dim, dropout, length).</param>
    /// <param name="vocab">Output/input states D: V + 1 for the absorbing graph, V for the uniform graph.</param>
    /// <param name="scaleBySigma">Subtract ln(e^σ − 1) + ln(vocab − 1) from the output (absorb only; spec §5.7).
    /// The "normalized" parameterization (<see cref="ModelConfig.Parameterization"/>) requires it.</param>
    public ScoreNetwork(ModelConfig config, int vocab, bool scaleBySigma) : base("SEDD")
    {
        ArgumentNullException.ThrowIfNull(config);
        Validate(config, vocab);
        if (config.Normalized && !scaleBySigma)
            ModelThrow.BadConfig("model.parameterization=normalized is defined for the absorbing graph only (its scores are scaled by σ)");
        Config = config;
        Vocab = vocab;
        ScaleBySigma = scaleBySigma;
        vocab_embed = new EmbeddingLayer(vocab, config.HiddenSize);
        sigma_map = new TimestepEmbedder(config.CondDim);
        rotary_emb = new Rotary(config.HeadDim);
        var list = new DDiTBlock[config.NBlocks];
        for (int i = 0; i < list.Length; i++)
            list[i] = new DDiTBlock(config.HiddenSize, config.NHeads, config.CondDim, config.Dropout);
        blocks = ModuleList(list);
        output_layer = new DDitFinalLayer(config.HiddenSize, vocab, config.CondDim);
        RegisterComponents();
    }

    /// <summary>The architecture this network was built with.</summary>
    public ModelConfig Config { get; }

    /// <summary>Number of states D the network reads and scores.</summary>
    public int Vocab { get; }

    /// <summary>Whether the §5.7 absorb scaling is applied.</summary>
    public bool ScaleBySigma { get; }

    /// <summary>
    /// Run every Linear of the blocks and the output layer, and the attention matmuls, in bfloat16
    /// (the reference's autocast region, spec §5.10); LayerNorm, softmax accumulation, the residual
    /// stream, the σ path and the returned log-score stay float32. Default false (float32 throughout).
    /// Meant for GPUs: on a CPU without native bf16 GEMM (measured on an AVX2 EPYC VM) a training step
    /// was ~30× slower than float32.
    /// </summary>
    public bool Bf16Matmul
    {
        get => bf16Matmul;
        set
        {
            bf16Matmul = value;
            foreach (var block in blocks) block.Bf16Matmul = value;
            output_layer.Bf16Matmul = value;
        }
    }

    /// <summary>
    /// When non-null, <see cref="forward"/> stores its intermediates here under the names of
    /// goldens/README.md (<c>token_embedding</c>, <c>c</c>, <c>block0.attn_input</c>, <c>block_outputs.{i}</c>,
    /// <c>final_layer_out</c>, ...). The tensors belong to the caller's dispose scope. Null in normal use.
    /// </summary>
    public Dictionary<string, Tensor>? Trace { get; set; }

    /// <summary>
    /// Log-score (spec §5.1): indices int64 (B, L) with L ≤ <c>Config.Length</c>, σ̄ (B) → (B, L, vocab),
    /// 0 at each position's own token. The result has the module's dtype (float32 unless converted).
    /// </summary>
    public override Tensor forward(Tensor indices, Tensor sigma)
    {
        CheckInputs(indices, sigma);
        var trace = Trace;
        var x = vocab_embed.call(indices);                                            // (B, L, H)
        // Time-independent models condition on σ = 0 whatever σ̄ is; §5.7 below still uses the real σ̄.
        var sigmaIn = Config.TimeIndependent ? zeros_like(sigma) : sigma;
        var s = sigma_map.call(sigmaIn);                                              // (B, C)
        var c = F.silu(s);                                                            // spec §5.3: second SiLU
        var rotary = rotary_emb.Tables(indices.shape[1], x.dtype, x.device);          // (L, hd) each
        if (trace != null)
        {
            trace["token_embedding"] = x.detach();
            trace["sigma_frequency_embedding"] = TimestepEmbedder.FrequencyEmbedding(sigmaIn, x.dtype);
            trace["sigma_map_out"] = s.detach();
            trace["c"] = c.detach();
            trace["rotary_cos"] = rotary.Cos;
            trace["rotary_sin"] = rotary.Sin;
        }

        for (int i = 0; i < blocks.Count; i++)
        {
            var block = blocks[i];
            block.Trace = i == 0 ? trace : null;
            block.TracePrefix = "block" + i;
            x = block.call(x, rotary, c);                                             // (B, L, H)
            if (trace != null) trace[$"block_outputs.{i}"] = x.detach();
        }

        x = output_layer.call(x, c);                                                  // (B, L, vocab)
        if (trace != null) trace["final_layer_out"] = x.detach();

        if (Config.Normalized)
            x = NormalizedLogScore(x, sigma);
        else if (ScaleBySigma)
            x = x - (LogExpm1s(sigma) + Math.Log(Vocab - 1)).to(x.dtype).view(-1, 1, 1);
        // log-ratio of a state to itself is 0 (spec §5.7 step 2)
        return x.scatter(-1, indices.unsqueeze(-1), zeros_like(x.narrow(-1, 0, 1)));
    }

    /// <summary>
    /// RADD's step 1 (see the remarks): [log_softmax(y[..., :V]), 0] − ln expm1s(σ̄), (B, L, V + 1), in
    /// the module's dtype (float32 also in bf16 mode: the output layer returns its input's dtype).
    /// </summary>
    Tensor NormalizedLogScore(Tensor y, Tensor sigma)
    {
        int real = Vocab - 1;                                                         // the mask is the last state
        var logProbability = F.log_softmax(y.narrow(-1, 0, real), -1);              // (B, L, V)
        var maskColumn = zeros(y.shape[0], y.shape[1], 1, logProbability.dtype, y.device);
        var shift = LogExpm1s(sigma).to(logProbability.dtype).view(-1, 1, 1);
        return cat([logProbability, maskColumn], -1) - shift;
    }

    /// <summary>
    /// ln(expm1s(σ)) per row, in float64 (spec §5.7 step 1, §0 for the 0.5 switch): at σ ≈ 1e-5 the
    /// float32 e^σ − 1 would carry a 1e-3 relative error.
    /// </summary>
    static Tensor LogExpm1s(Tensor sigma)
    {
        var s = sigma.to_type(ScalarType.Float64);
        var esigm1 = where(s < 0.5, s.expm1(), s.exp() - 1);
        return esigm1.log();
    }

    /// <summary>Number of trainable parameters (the rotary buffer is not one).</summary>
    public long ParameterCount() => ModelWeights.ParameterCount(this);

    /// <summary>
    /// Parameter count of a network of this shape, from the shapes of spec §5.8 alone (nothing is
    /// allocated): 169,627,218 for the released 'small' absorb model.
    /// </summary>
    /// <param name="config">Architecture.</param>
    /// <param name="vocab">States D.</param>
    public static long CountParameters(ModelConfig config, int vocab)
    {
        ArgumentNullException.ThrowIfNull(config);
        long h = config.HiddenSize, c = config.CondDim, v = vocab, f = TimestepEmbedder.FrequencyEmbeddingSize;
        long sigmaMap = (f * c + c) + (c * c + c);
        long block = h + 3 * h * h + h * h + h + (4 * h * h + 4 * h) + (4 * h * h + h) + (6 * h * c + 6 * h);
        long output = h + (h * v + v) + (2 * h * c + 2 * h);
        return v * h + sigmaMap + config.NBlocks * block + output;
    }

    /// <summary>
    /// Copies tensors into the network by state_dict name (spec §5.8), with the shape of each checked.
    /// Throws <see cref="Sedd.Runtime.SeddException"/> naming the tensor when one is missing, unexpected or mis-shaped.
    /// </summary>
    /// <param name="weights">Tensors by name (any floating dtype; cast to the module's dtype).</param>
    /// <param name="source">Where they come from, for messages.</param>
    public void LoadWeights(IReadOnlyDictionary<string, Tensor> weights, string source = "weights") =>
        ModelWeights.Load(this, weights, source);

    /// <summary>
    /// Loads weights one tensor at a time, each made by <paramref name="open"/> (null when the source lacks
    /// it) and, with <paramref name="ownsTensors"/>, disposed once copied: no second full copy of the weights.
    /// </summary>
    /// <param name="names">Every tensor name the source has (an unknown one is an error).</param>
    /// <param name="open">The tensor of a name, or null.</param>
    /// <param name="ownsTensors">Dispose each opened tensor after copying it.</param>
    /// <param name="source">How messages name the source.</param>
    public void LoadWeights(IReadOnlyCollection<string> names, Func<string, Tensor?> open, bool ownsTensors, string source = "weights") =>
        ModelWeights.Load(this, names, open, ownsTensors, source);

    void CheckInputs(Tensor indices, Tensor sigma)
    {
        if (indices.dim() != 2 || indices.dtype != ScalarType.Int64)
            ModelThrow.BadInputShape("indices", "int64 (batch, length)", indices.shape);
        if (sigma.dim() != 1 || sigma.shape[0] != indices.shape[0])
            ModelThrow.BadInputShape("sigma", $"one value per row ({indices.shape[0]})", sigma.shape);
        if (indices.shape[1] > Config.Length) ModelThrow.SequenceTooLong(indices.shape[1], Config.Length);
    }

    internal static void Validate(ModelConfig config, int vocab)
    {
        if (config.HiddenSize <= 0 || config.NHeads <= 0 || config.HiddenSize % config.NHeads != 0)
            ModelThrow.BadConfig($"hidden_size {config.HiddenSize} must be a positive multiple of n_heads {config.NHeads}");
        if (config.HeadDim % 2 != 0)
            ModelThrow.BadConfig($"head dimension {config.HeadDim} (hidden_size / n_heads) must be even for rotary embeddings");
        if (config.CondDim <= 0 || config.NBlocks <= 0 || config.Length <= 0)
            ModelThrow.BadConfig($"cond_dim {config.CondDim}, n_blocks {config.NBlocks} and length {config.Length} must be positive");
        if (config.Dropout is < 0 or >= 1)
            ModelThrow.BadConfig($"dropout {config.Dropout} must be in [0, 1)");
        if (vocab < 2) ModelThrow.BadConfig($"vocabulary {vocab} must have at least 2 states");
        if (config.Parameterization is not (ModelConfig.ScoreParameterization or ModelConfig.NormalizedParameterization))
            ModelThrow.BadConfig($"parameterization must be score or normalized, got '{config.Parameterization}'");
    }
}
