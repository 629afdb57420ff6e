using static TorchSharp.torch;
using static TorchSharp.torch.nn;

namespace Sedd.Trainer.Model;

/// <summary>cos and sin tables of shape (L, d) for one sequence length (spec §5.4).</summary>
/// <param name="Cos">[cos α_{p,0..d/2−1}, cos α_{p,0..d/2−1}] per position p.</param>
/// <param name="Sin">Same layout with sin.</param>
readonly record struct RotaryTables(Tensor Cos, Tensor Sin);

/// <summary>
/// Rotary position embedding, rotate-half (GPT-NeoX) layout (SEDD model/rotary.py; spec §5.4):
/// θ_k = 10000^(−2k/d), α_{p,k} = p θ_k, q' = q ⊙ cos + rotate_half(q) ⊙ sin, rotate_half([a, b]) = [−b, a].
/// Holds the persistent buffer <c>inv_freq</c> [d/2] so checkpoints carry the reference's 31 entries;
/// the tables themselves are recomputed in float64 from the formula and cached per length, dtype and
/// device (spec §10: changing L changes the tables).
/// </summary>
sealed class Rotary : Module
{
    const double Base = 10000;

    readonly long dim;
    readonly Dictionary<(long Length, ScalarType Dtype, string Device), RotaryTables> cache = [];

    public Rotary(long headDim) : base(nameof(Rotary))
    {
        dim = headDim;
        // Only the name and shape matter (spec §5.8); the tables below never read it.
        register_buffer("inv_freq", InverseFrequencies(headDim, ScalarType.Float32), persistent: true);
    }

    static Tensor InverseFrequencies(long headDim, ScalarType dtype) =>
        (1.0 / pow(Base, arange(0, headDim, 2, ScalarType.Float64) / headDim)).to_type(dtype);

    /// <summary>Tables (L, d) for <paramref name="length"/> positions, in <paramref name="dtype"/> on <paramref name="device"/>.</summary>
    public RotaryTables Tables(long length, ScalarType dtype, Device device)
    {
        var key = (length, dtype, device.ToString());
        lock (cache)
        {
            if (cache.TryGetValue(key, out var t)) return t;
            using var scope = NewDisposeScope();
            var positions = arange(length, ScalarType.Float64);
            var freqs = outer(positions, InverseFrequencies(dim, ScalarType.Float64)); // (L, d/2)
            var emb = cat([freqs, freqs], 1);                                        // (L, d)
            t = new RotaryTables(
                emb.cos().to(dtype, device).DetachFromDisposeScope(),
                emb.sin().to(dtype, device).DetachFromDisposeScope());
            cache[key] = t;
            return t;
        }
    }

    /// <summary>Rotates x (B, L, heads, d) by the tables (L, d), broadcast over batch and heads.</summary>
    public static Tensor Apply(Tensor x, RotaryTables tables)
    {
        var cosT = tables.Cos.unsqueeze(1); // (L, 1, d)
        var sinT = tables.Sin.unsqueeze(1);
        return x * cosT + RotateHalf(x) * sinT;
    }

    static Tensor RotateHalf(Tensor x)
    {
        var halves = x.chunk(2, -1);
        return cat([-halves[1], halves[0]], -1);
    }

    protected override void Dispose(bool disposing)
    {
        if (disposing)
        {
            foreach (var t in cache.Values) { t.Cos.Dispose(); t.Sin.Dispose(); }
            cache.Clear();
        }
        base.Dispose(disposing);
    }
}
