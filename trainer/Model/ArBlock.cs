using TorchSharp.Modules;
using static TorchSharp.torch;
using static TorchSharp.torch.nn;
using F = TorchSharp.torch.nn.functional;

namespace Sedd.Trainer.Model;

/// <summary>
/// Pre-LN causal transformer block of the autoregressive baseline: the DDiT block of spec §5.5 without
/// adaLN (no σ, no shift/scale/gate) and with a causal mask. Same LayerNorm (weight only, eps 1e-5),
/// rotary attention, GELU(tanh) MLP and dropout on the branch outputs, so the two models differ only in
/// what they condition on and what they predict.
/// x += Dropout(attn(LN1(x)) W_oᵀ); x += Dropout(MLP(LN2(x))).
/// </summary>
sealed class ArBlock : Module<Tensor, RotaryTables, Tensor>
{
    readonly long nHeads;
    readonly double dropout;
    readonly LayerNorm norm1;
    readonly Linear attn_qkv;
    readonly Linear attn_out;
    readonly LayerNorm norm2;
    readonly ModuleList<Module<Tensor, Tensor>> mlp; // mlp.0 Linear(H → 4H), mlp.1 GELU(tanh), mlp.2 Linear(4H → H)

    public ArBlock(long dim, long nHeads, double dropout) : base(nameof(ArBlock))
    {
        this.nHeads = nHeads;
        this.dropout = dropout;
        norm1 = LayerNorm(dim, eps: 1e-5, bias: false);
        attn_qkv = Linear(dim, 3 * dim, hasBias: false);
        attn_out = Linear(dim, dim, hasBias: false);
        norm2 = LayerNorm(dim, eps: 1e-5, bias: false);
        mlp = ModuleList<Module<Tensor, Tensor>>(Linear(dim, 4 * dim), GELU(TorchSharp.Modules.GELU.Approximate.tanh), Linear(4 * dim, dim));
        RegisterComponents();
    }

    /// <summary>Run the Linear layers and attention matmuls in bf16 (see <see cref="MixedPrecision"/>).</summary>
    public bool Bf16Matmul { get; set; }

    /// <summary>x (B, L, H), rotary tables (L, d) → (B, L, H); position p attends to positions ≤ p.</summary>
    public override Tensor forward(Tensor x, RotaryTables rotary)
    {
        var (b, s, d) = (x.shape[0], x.shape[1], x.shape[2]);
        var qkv = Project(attn_qkv, norm1.call(x)).view(b, s, 3, nHeads, d / nHeads); // (B, L, 3, heads, hd)
        var q = Rotary.Apply(qkv.select(2, 0), rotary).transpose(1, 2);                // (B, heads, L, hd)
        var k = Rotary.Apply(qkv.select(2, 1), rotary).transpose(1, 2);
        var v = qkv.select(2, 2).transpose(1, 2);
        var a = MixedPrecision.Attention(q, k, v, causal: true, Bf16Matmul).transpose(1, 2).reshape(b, s, d); // (B, L, H)
        x = x + F.dropout(Project(attn_out, a), dropout, training);
        var y = Project((Linear)mlp[2], mlp[1].call(Project((Linear)mlp[0], norm2.call(x))));
        return x + F.dropout(y, dropout, training);
    }

    /// <summary>
    /// Incremental form of <see cref="forward"/>: x (B, S, H) holds the S positions that follow the
    /// <c>cache.Length</c> cached ones, rotary (S, d) their absolute positions. Their keys and values are
    /// appended to block <paramref name="layer"/> of the cache and each new position attends to every cached
    /// position and to the new ones up to itself, so the output equals the rows of the full causal forward.
    /// </summary>
    internal Tensor ForwardCached(Tensor x, RotaryTables rotary, Evidence.ArKvCache cache, int layer)
    {
        var (b, s, d) = (x.shape[0], x.shape[1], x.shape[2]);
        var past = cache.Length;
        var qkv = Project(attn_qkv, norm1.call(x)).view(b, s, 3, nHeads, d / nHeads); // (B, S, 3, heads, hd)
        var q = Rotary.Apply(qkv.select(2, 0), rotary).transpose(1, 2);                // (B, heads, S, hd)
        var k = Rotary.Apply(qkv.select(2, 1), rotary).transpose(1, 2);
        var v = qkv.select(2, 2).transpose(1, 2);
        var (keys, values) = cache.Append(layer, k, v);                                // (B, heads, past + S, hd)
        var a = CachedAttention(q, keys, values, past).transpose(1, 2).reshape(b, s, d);  // (B, S, H)
        x = x + F.dropout(Project(attn_out, a), dropout, training);
        var y = Project((Linear)mlp[2], mlp[1].call(Project((Linear)mlp[0], norm2.call(x))));
        return x + F.dropout(y, dropout, training);
    }

    /// <summary>Attention of S new queries at positions past.. over past + S keys, causal in absolute positions.</summary>
    Tensor CachedAttention(Tensor q, Tensor keys, Tensor values, long past)
    {
        var s = q.shape[2];
        // No cache yet: the usual square causal mask. One new token: it may see every key, so no mask.
        if (past == 0 || s == 1) return MixedPrecision.Attention(q, keys, values, causal: past == 0 && s > 1, Bf16Matmul);
        // Several new tokens after a cache: sdpa's is_causal aligns the mask top-left, which is wrong for a
        // rectangular (S, past + S) score matrix, so pass the mask key ≤ past + query explicitly.
        var mask = arange(past + s, device: q.device).unsqueeze(0).le(arange(past, past + s, device: q.device).unsqueeze(1)); // (S, past + S)
        if (!Bf16Matmul || q.dtype != ScalarType.Float32) return F.scaled_dot_product_attention(q, keys, values, mask);
        return F.scaled_dot_product_attention(q.to_type(ScalarType.BFloat16), keys.to_type(ScalarType.BFloat16), values.to_type(ScalarType.BFloat16), mask)
            .to_type(q.dtype);
    }

    Tensor Project(Linear layer, Tensor x) => MixedPrecision.Linear(layer, x, Bf16Matmul);
}
