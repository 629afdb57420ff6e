using TorchSharp.Modules;
using static TorchSharp.torch;
using static TorchSharp.torch.nn;

namespace Sedd.Trainer.Model;

/// <summary>
/// Output layer (SEDD transformer.DDitFinalLayer; spec §5.6):
/// (shift, scale) = split(adaLN(c)); y = linear(LN_f(x)(1 + scale) + shift).
/// </summary>
sealed class DDitFinalLayer : Module<Tensor, Tensor, Tensor>
{
    readonly LayerNorm norm_final;
    readonly Linear linear;
    readonly Linear adaLN_modulation;

    public DDitFinalLayer(long hidden, long outChannels, long condDim) : base(nameof(DDitFinalLayer))
    {
        norm_final = LayerNorm(hidden, eps: 1e-5, bias: false);
        linear = Linear(hidden, outChannels);
        adaLN_modulation = Linear(condDim, 2 * hidden);
        RegisterComponents();
        // Zero output projection and modulation: the untrained network emits 0 before the σ scaling (spec §5.9).
        using var noGrad = no_grad();
        linear.weight!.zero_();
        linear.bias!.zero_();
        adaLN_modulation.weight!.zero_();
        adaLN_modulation.bias!.zero_();
    }

    /// <summary>Run the Linear layers in bf16 (see <see cref="MixedPrecision"/>).</summary>
    public bool Bf16Matmul { get; set; }

    /// <summary>x (B, L, H), c (B, C) → (B, L, vocab).</summary>
    public override Tensor forward(Tensor x, Tensor c)
    {
        var m = MixedPrecision.Linear(adaLN_modulation, c, Bf16Matmul).unsqueeze(1).chunk(2, 2); // 2 × (B, 1, H)
        var h = DDiTBlock.Modulate(norm_final.call(x), m[0], m[1]);
        return MixedPrecision.Linear(linear, h, Bf16Matmul);
    }
}
