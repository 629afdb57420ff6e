using TorchSharp.Modules;
using static TorchSharp.torch;
using static TorchSharp.torch.nn;

namespace Sedd.Trainer.Model;

/// <summary>
/// Noise-level conditioning σ̄ → MLP(sinusoidal features) (SEDD transformer.TimestepEmbedder; spec §5.3).
/// The outer SiLU that turns this into c is applied by the caller, as in SEDD.forward.
/// </summary>
sealed class TimestepEmbedder : Module<Tensor, Tensor>
{
    /// <summary>Width of the sinusoidal features (fixed by the architecture).</summary>
    public const int FrequencyEmbeddingSize = 256;

    const double MaxPeriod = 10000;

    // mlp.0 Linear(256 → C), mlp.1 SiLU, mlp.2 Linear(C → C): the reference's nn.Sequential names.
    readonly ModuleList<Module<Tensor, Tensor>> mlp;

    public TimestepEmbedder(long condDim) : base(nameof(TimestepEmbedder))
    {
        mlp = ModuleList<Module<Tensor, Tensor>>(Linear(FrequencyEmbeddingSize, condDim), SiLU(), Linear(condDim, condDim));
        RegisterComponents();
    }

    /// <summary>σ̄ (B) → MLP(f) (B, C), before the outer SiLU.</summary>
    public override Tensor forward(Tensor sigma)
    {
        var f = FrequencyEmbedding(sigma, ((Linear)mlp[0]).weight!.dtype);
        foreach (var layer in mlp) f = layer.call(f);
        return f;
    }

    /// <summary>
    /// f = [cos(σ ω_k), sin(σ ω_k)], ω_k = exp(−ln(10000)·k/128), k = 0…127 (cos half first), shape (B, 256).
    /// Computed in float64 and cast to <paramref name="dtype"/>: σ reaches 20 (geometric schedule), where
    /// a float32 argument already loses ~1e-6 absolute.
    /// </summary>
    public static Tensor FrequencyEmbedding(Tensor sigma, ScalarType dtype)
    {
        const int half = FrequencyEmbeddingSize / 2;
        var freqs = exp(arange(half, ScalarType.Float64, sigma.device) * (-Math.Log(MaxPeriod) / half)); // (128)
        var args = sigma.to_type(ScalarType.Float64).unsqueeze(1) * freqs.unsqueeze(0);                  // (B, 128)
        return cat([cos(args), sin(args)], 1).to_type(dtype);                                            // (B, 256)
    }
}
