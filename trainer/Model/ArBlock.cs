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

    Tensor Project(Linear layer, Tensor x) => MixedPrecision.Linear(layer, x, Bf16Matmul);
}
