using TorchSharp.Modules;
using static TorchSharp.torch;
using static TorchSharp.torch.nn;
using F = TorchSharp.torch.nn.functional;

namespace Sedd.Trainer.Model;

/// <summary>
/// Transformer block with adaLN-zero conditioning and rotary attention (SEDD transformer.DDiTBlock;
/// spec §5.5):
/// h = LN1(x)(1 + scale_a) + shift_a; a = attention(rotary(h W_qkvᵀ)); x += gate_a ⊙ Dropout(a W_oᵀ);
/// h2 = LN2(x)(1 + scale_m) + shift_m; x += gate_m ⊙ Dropout(MLP(h2)).
/// </summary>
sealed class DDiTBlock : Module<Tensor, RotaryTables, Tensor, Tensor>
{
    /// <summary>Names of the six modulation vectors, in the order adaLN emits them.</summary>
    public static readonly string[] ModulationNames = ["shift_msa", "scale_msa", "gate_msa", "shift_mlp", "scale_mlp", "gate_mlp"];

    readonly long nHeads;
    readonly double dropout;
    readonly LayerNorm norm1;
    readonly Linear attn_qkv;
    readonly Linear attn_out;
    readonly LayerNorm norm2;
    readonly ModuleList<Module<Tensor, Tensor>> mlp; // mlp.0 Linear(H → 4H), mlp.1 GELU(tanh), mlp.2 Linear(4H → H)
    readonly Linear adaLN_modulation;

    public DDiTBlock(long dim, long nHeads, long condDim, double dropout) : base(nameof(DDiTBlock))
    {
        this.nHeads = nHeads;
        this.dropout = dropout;
        norm1 = LayerNorm(dim, eps: 1e-5, bias: false);
        attn_qkv = Linear(dim, 3 * dim, hasBias: false);
        attn_out = Linear(dim, dim, hasBias: false);
        norm2 = LayerNorm(dim, eps: 1e-5, bias: false);
        mlp = ModuleList<Module<Tensor, Tensor>>(Linear(dim, 4 * dim), GELU(TorchSharp.Modules.GELU.Approximate.tanh), Linear(4 * dim, dim));
        adaLN_modulation = Linear(condDim, 6 * dim);
        RegisterComponents();
        // adaLN-zero: every block starts as the identity (spec §5.9).
        using var noGrad = no_grad();
        adaLN_modulation.weight!.zero_();
        adaLN_modulation.bias!.zero_();
    }

    /// <summary>Run the Linear layers and attention matmuls in bf16 (see <see cref="MixedPrecision"/>).</summary>
    public bool Bf16Matmul { get; set; }

    /// <summary>When set, forward records its intermediates under <c>block{i}.*</c> keys (golden tests only).</summary>
    public Dictionary<string, Tensor>? Trace { get; set; }

    public string TracePrefix { get; set; } = "block";

    /// <summary>x (B, L, H), rotary tables (L, d), c (B, C) → (B, L, H).</summary>
    public override Tensor forward(Tensor x, RotaryTables rotary, Tensor c)
    {
        var (b, s, d) = (x.shape[0], x.shape[1], x.shape[2]);
        var m = Project(adaLN_modulation, c).chunk(6, 1);                                    // 6 × (B, H)
        Record(m);
        var (shiftMsa, scaleMsa, gateMsa) = (m[0].unsqueeze(1), m[1].unsqueeze(1), m[2].unsqueeze(1));
        var (shiftMlp, scaleMlp, gateMlp) = (m[3].unsqueeze(1), m[4].unsqueeze(1), m[5].unsqueeze(1));

        // attention branch
        var h = Modulate(norm1.call(x), shiftMsa, scaleMsa);                                // (B, L, H)
        Record("attn_input", h);
        var qkv = Project(attn_qkv, h).view(b, s, 3, nHeads, d / nHeads);                    // (B, L, 3, heads, hd)
        var q = Rotary.Apply(qkv.select(2, 0), rotary);                                     // (B, L, heads, hd)
        var k = Rotary.Apply(qkv.select(2, 1), rotary);
        var v = qkv.select(2, 2);
        if (Trace != null) Record("qkv_after_rotary", stack([q, k, v], 2));
        var a = MixedPrecision.Attention(q.transpose(1, 2), k.transpose(1, 2), v.transpose(1, 2), causal: false, Bf16Matmul); // (B, heads, L, hd)
        a = a.transpose(1, 2).reshape(b, s, d);                                             // (B, L, H)
        Record("attention", a);
        // dropout on the branch output, before the gate (spec §5.5)
        x = x + gateMsa * F.dropout(Project(attn_out, a), dropout, training);
        Record("x_after_attn", x);

        // MLP branch
        var h2 = Modulate(norm2.call(x), shiftMlp, scaleMlp);
        Record("mlp_input", h2);
        var y = Mlp(h2);
        Record("mlp_out", y);
        x = x + gateMlp * F.dropout(y, dropout, training);
        Record("out", x);
        return x;
    }

    internal static Tensor Modulate(Tensor x, Tensor shift, Tensor scale) => x * (1 + scale) + shift;

    Tensor Mlp(Tensor x) => Project((Linear)mlp[2], mlp[1].call(Project((Linear)mlp[0], x)));

    Tensor Project(Linear layer, Tensor x) => MixedPrecision.Linear(layer, x, Bf16Matmul);

    void Record(string name, Tensor t)
    {
        if (Trace != null) Trace[$"{TracePrefix}.{name}"] = t.detach();
    }

    void Record(Tensor[] modulation)
    {
        if (Trace == null) return;
        for (int i = 0; i < ModulationNames.Length; i++) Record("modulation." + ModulationNames[i], modulation[i]);
    }
}
