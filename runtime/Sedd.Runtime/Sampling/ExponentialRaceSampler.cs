using System.Numerics.Tensors;

namespace Sedd.Runtime.Sampling;

/// <summary>
/// SEDD's categorical draw (catsample.sample_categorical; spec §6.2): with one uniform u_k per
/// candidate, pick argmax_k p_k / (1e-10 − ln(u_k + 1e-10)). The denominator is an Exp(1) variate,
/// so this is an exponential race that selects k with probability p_k / Σp for non-negative p; there
/// is no clamping, and a negative weight loses to any positive one. Given the stored uniforms it
/// reproduces the reference's indices exactly, which is why it exists; it costs one logarithm per
/// candidate, so the sampler driver defaults to <see cref="InverseCdfSampler"/>.
/// </summary>
public sealed class ExponentialRaceSampler : CategoricalSampler
{
    // Uniforms are generated and transformed in L1-sized chunks on the stack (no heap allocation).
    const int Chunk = 256;

    // The reference's guard against ln(0), kept so stored uniforms map to the stored indices.
    const double Tiny = 1e-10;

    /// <summary>
    /// argmax_k p_k / (1e-10 − ln(u_k + 1e-10)) for given uniforms, first index on ties (as torch.argmax).
    /// </summary>
    /// <param name="weights">Unnormalised weights p.</param>
    /// <param name="uniforms">One uniform in [0, 1) per weight.</param>
    public static int Argmax(ReadOnlySpan<double> weights, ReadOnlySpan<double> uniforms)
    {
        if (uniforms.Length != weights.Length)
            throw new ArgumentException($"the race needs one uniform per weight: {weights.Length} weights, {uniforms.Length} uniforms", nameof(uniforms));
        Span<double> buffer = stackalloc double[Chunk];
        int best = -1;
        double bestValue = double.NegativeInfinity;
        for (int start = 0; start < weights.Length; start += Chunk)
        {
            int n = Math.Min(Chunk, weights.Length - start);
            var key = buffer[..n];
            Race(weights.Slice(start, n), uniforms.Slice(start, n), key);
            int i = TensorPrimitives.IndexOfMax<double>(key);
            if (double.IsNaN(key[i])) return start + i;
            if (best < 0 || key[i] > bestValue) (best, bestValue) = (start + i, key[i]);
        }
        return best;
    }

    /// <inheritdoc />
    public override int Sample(ReadOnlySpan<double> weights, int row, ref Xoshiro256StarStar random)
    {
        if (weights.IsEmpty) throw new ArgumentException("cannot draw from zero weights", nameof(weights));
        Span<double> uniforms = stackalloc double[Chunk];
        Span<double> buffer = stackalloc double[Chunk];
        int best = -1;
        double bestValue = double.NegativeInfinity;
        for (int start = 0; start < weights.Length; start += Chunk)
        {
            int n = Math.Min(Chunk, weights.Length - start);
            random.NextDoubles(uniforms[..n]);
            var key = buffer[..n];
            Race(weights.Slice(start, n), uniforms[..n], key);
            int i = TensorPrimitives.IndexOfMax<double>(key);
            if (double.IsNaN(key[i])) return start + i;
            if (best < 0 || key[i] > bestValue) (best, bestValue) = (start + i, key[i]);
        }
        return best;
    }

    // key = p / (1e-10 − ln(u + 1e-10)), in the reference's order of operations.
    static void Race(ReadOnlySpan<double> p, ReadOnlySpan<double> u, Span<double> key)
    {
        TensorPrimitives.Add(u, Tiny, key);
        TensorPrimitives.Log<double>(key, key);
        TensorPrimitives.Subtract(Tiny, key, key);
        TensorPrimitives.Divide(p, key, key);
    }
}
