using TorchSharp.Modules;
using static TorchSharp.torch;
using static TorchSharp.torch.nn;
using F = TorchSharp.torch.nn.functional;

namespace Sedd.Trainer.Model;

/// <summary>
/// Autoregressive baseline of the same width and depth as the score network: token embedding, rotary
/// causal pre-LN blocks (<see cref="ArBlock"/>), final weight-only LayerNorm and an output Linear to
/// the V real tokens (no mask state). Parameter names: <c>vocab_embed.embedding</c>,
/// <c>rotary_emb.inv_freq</c> (buffer), <c>blocks.{i}.{norm1,attn_qkv,attn_out,norm2,mlp.0,mlp.2}</c>,
/// <c>norm_final.weight</c>, <c>lm_head.{weight,bias}</c>.
/// </summary>
public sealed class ArTransformer : Module<Tensor, Tensor>
{
    readonly EmbeddingLayer vocab_embed;
    readonly Rotary rotary_emb;
    readonly ModuleList<ArBlock> blocks;
    readonly LayerNorm norm_final;
    readonly Linear lm_head;
    bool bf16Matmul;

    /// <summary>Builds a freshly initialised model in float32 on the CPU (PyTorch default Linear init, embedding as §5.9).</summary>
    /// <param name="config">Architecture; <c>CondDim</c> and <c>TimeIndependent</c> are unused.</param>
    /// <param name="vocab">Real tokens V (no mask state).</param>
    public ArTransformer(ModelConfig config, int vocab) : base("ArTransformer")
    {
        ArgumentNullException.ThrowIfNull(config);
        ScoreNetwork.Validate(config, vocab);
        Config = config;
        Vocab = vocab;
        vocab_embed = new EmbeddingLayer(vocab, config.HiddenSize);
        rotary_emb = new Rotary(config.HeadDim);
        var list = new ArBlock[config.NBlocks];
        for (int i = 0; i < list.Length; i++) list[i] = new ArBlock(config.HiddenSize, config.NHeads, config.Dropout);
        blocks = ModuleList(list);
        norm_final = LayerNorm(config.HiddenSize, eps: 1e-5, bias: false);
        lm_head = Linear(config.HiddenSize, vocab);
        RegisterComponents();
    }

    /// <summary>The architecture this model was built with.</summary>
    public ModelConfig Config { get; }

    /// <summary>Number of tokens V.</summary>
    public int Vocab { get; }

    /// <summary>Run every Linear and the attention matmuls in bfloat16; LayerNorm, softmax and logits stay float32.</summary>
    public bool Bf16Matmul
    {
        get => bf16Matmul;
        set
        {
            bf16Matmul = value;
            foreach (var block in blocks) block.Bf16Matmul = value;
        }
    }

    /// <summary>indices int64 (B, L), L ≤ <c>Config.Length</c> → logits (B, L, V); position p predicts token p + 1.</summary>
    public override Tensor forward(Tensor indices)
    {
        if (indices.dim() != 2 || indices.dtype != ScalarType.Int64)
            ModelThrow.BadInputShape("indices", "int64 (batch, length)", indices.shape);
        if (indices.shape[1] > Config.Length) ModelThrow.SequenceTooLong(indices.shape[1], Config.Length);
        var x = vocab_embed.call(indices);                                        // (B, L, H)
        var rotary = rotary_emb.Tables(indices.shape[1], x.dtype, x.device);
        foreach (var block in blocks) x = block.call(x, rotary);
        return MixedPrecision.Linear(lm_head, norm_final.call(x), bf16Matmul);    // (B, L, V)
    }

    /// <summary>
    /// Incremental decoding: indices int64 (B, S) are the S tokens at absolute positions
    /// <c>cache.Length</c> .. <c>cache.Length + S − 1</c>; returns their logits (B, S, V), equal to those rows of
    /// <see cref="forward"/> on the whole prefix, and appends their keys and values to <paramref name="cache"/>.
    /// Rotary angles use the absolute positions (spec §5.4), so feeding a sequence in pieces gives the same result.
    /// </summary>
    /// <param name="indices">The new tokens.</param>
    /// <param name="cache">The cache of the positions before them (empty for the first call).</param>
    public Tensor ForwardIncremental(Tensor indices, Evidence.ArKvCache cache)
    {
        ArgumentNullException.ThrowIfNull(indices);
        ArgumentNullException.ThrowIfNull(cache);
        if (indices.dim() != 2 || indices.dtype != ScalarType.Int64 || indices.shape[0] != cache.Batch)
            ModelThrow.BadInputShape("indices", $"int64 (batch {cache.Batch}, new tokens)", indices.shape);
        var (position, s) = (cache.Length, (int)indices.shape[1]);
        if (position + s > cache.Capacity)
            throw new Runtime.SeddException($"KV cache holds {cache.Capacity} positions; {position} are used and {s} more were fed.", Runtime.SeddException.Usage);
        var x = vocab_embed.call(indices);                                        // (B, S, H)
        // Rows [position, position + S) of the full-length tables: the same float64 formula, so the angles
        // match forward()'s tables for the same positions exactly.
        var all = rotary_emb.Tables(Config.Length, x.dtype, x.device);
        var rotary = new RotaryTables(all.Cos.narrow(0, position, s), all.Sin.narrow(0, position, s));
        for (var i = 0; i < blocks.Count; i++) x = blocks[i].ForwardCached(x, rotary, cache, i);
        cache.Advance(s);
        return MixedPrecision.Linear(lm_head, norm_final.call(x), bf16Matmul);    // (B, S, V)
    }

    /// <summary>Mean next-token cross-entropy over the B·(L−1) predicted tokens (the training loss).</summary>
    /// <param name="indices">int64 (B, L) tokens.</param>
    public Tensor Loss(Tensor indices) => NextTokenLoss(call(indices), indices);

    /// <summary>Mean over B·(L−1) of −ln p(x_{p+1} | x_{≤p}), from logits (B, L, V) and the tokens (B, L) they were computed on.</summary>
    /// <param name="logits">Output of <see cref="forward"/>.</param>
    /// <param name="indices">The input tokens.</param>
    public static Tensor NextTokenLoss(Tensor logits, Tensor indices)
    {
        ArgumentNullException.ThrowIfNull(logits);
        ArgumentNullException.ThrowIfNull(indices);
        var (l, v) = (logits.shape[1], logits.shape[2]);
        var predicted = logits.narrow(1, 0, l - 1).reshape(-1, v);               // (B·(L−1), V)
        var targets = indices.narrow(1, 1, l - 1).reshape(-1);                  // (B·(L−1))
        return F.cross_entropy(predicted, targets);
    }

    /// <summary>
    /// Per-sequence Σ_{p=1}^{L−1} −ln p(x_p | x_{&lt;p}) as float64 (B): the first token is not predicted.
    /// Exact perplexity over a corpus is exp(Σ NLL / Σ (L−1)).
    /// </summary>
    /// <param name="logits">Output of <see cref="forward"/>.</param>
    /// <param name="indices">The input tokens.</param>
    public static Tensor SequenceNll(Tensor logits, Tensor indices)
    {
        ArgumentNullException.ThrowIfNull(logits);
        ArgumentNullException.ThrowIfNull(indices);
        var l = logits.shape[1];
        var logp = logits.narrow(1, 0, l - 1).log_softmax(-1);                  // (B, L−1, V)
        var targets = indices.narrow(1, 1, l - 1).unsqueeze(-1);                // (B, L−1, 1)
        return -logp.gather(-1, targets).squeeze(-1).to_type(ScalarType.Float64).sum(1);
    }

    /// <summary>Number of trainable parameters.</summary>
    public long ParameterCount() => ModelWeights.ParameterCount(this);

    /// <summary>Copies tensors into the model by state_dict name with shape checks (see <see cref="ScoreNetwork.LoadWeights(IReadOnlyDictionary{string, Tensor}, string)"/>).</summary>
    /// <param name="weights">Tensors by name.</param>
    /// <param name="source">Where they come from, for messages.</param>
    public void LoadWeights(IReadOnlyDictionary<string, Tensor> weights, string source = "weights") =>
        ModelWeights.Load(this, weights, source);
}
