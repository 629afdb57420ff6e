using TorchSharp.Modules;
using static TorchSharp.torch;
using F = TorchSharp.torch.nn.functional;

namespace Sedd.Trainer.Model;

/// <summary>
/// Hand-written bf16 autocast (TorchSharp 0.107 has none; platform-notes §0.7, §3). Mirrors what the
/// reference's <c>torch.cuda.amp.autocast(dtype=bfloat16)</c> region does (spec §5.10): the matmuls of
/// every Linear and of attention take bf16 operands, while LayerNorm, the residual stream, the
/// modulation arithmetic and the returned values stay in the caller's dtype (float32). The master
/// weights stay float32; autograd carries the gradient back through the casts.
/// </summary>
static class MixedPrecision
{
    /// <summary>y = x Wᵀ + b, in bf16 when <paramref name="bf16"/> is set, returned in x's dtype.</summary>
    public static Tensor Linear(Linear layer, Tensor x, bool bf16)
    {
        if (!bf16 || x.dtype != ScalarType.Float32) return layer.call(x);
        var y = F.linear(x.to_type(ScalarType.BFloat16), layer.weight!.to_type(ScalarType.BFloat16), layer.bias?.to_type(ScalarType.BFloat16));
        return y.to_type(x.dtype);
    }

    /// <summary>
    /// softmax(q kᵀ / √d) v over (B, heads, L, d) inputs, scale 1/√d as in SEDD (spec §5.5).
    /// In bf16 mode the operands are bf16 and the fused kernel accumulates the softmax in float32,
    /// as flash-attention does in the reference.
    /// </summary>
    public static Tensor Attention(Tensor q, Tensor k, Tensor v, bool causal, bool bf16)
    {
        if (!bf16 || q.dtype != ScalarType.Float32) return F.scaled_dot_product_attention(q, k, v, is_casual: causal);
        var a = F.scaled_dot_product_attention(
            q.to_type(ScalarType.BFloat16), k.to_type(ScalarType.BFloat16), v.to_type(ScalarType.BFloat16), is_casual: causal);
        return a.to_type(q.dtype);
    }
}
