using System.Numerics.Tensors;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;

namespace Sedd.Runtime.Sampling;

/// <summary>
/// The hot per-row kernel of absorbing sampling: exp of a row of float log-scores, summed in double
/// chunk by chunk. Vector512 where the CPU has it, Vector256 (AVX2) otherwise, scalar last.
/// </summary>
static class RowSums
{
    /// <summary>Chunk width of the two-pass inverse-CDF draw (fits L1 with its double sums).</summary>
    public const int Chunk = 512;

    /// <summary>
    /// e_i = exp(ℓ_i + shift) into <paramref name="exp"/> (float) and the double sum of every chunk of
    /// <see cref="Chunk"/> entries into <paramref name="sums"/>; returns the total.
    /// </summary>
    public static double ExpChunkSums(ReadOnlySpan<float> log, float shift, Span<float> exp, Span<double> sums)
    {
        double total = 0;
        int chunks = (log.Length + Chunk - 1) / Chunk;
        for (int c = 0; c < chunks; c++)
        {
            int start = c * Chunk, n = Math.Min(Chunk, log.Length - start);
            var src = log.Slice(start, n);
            var dst = exp.Slice(start, n);
            if (shift != 0)
            {
                TensorPrimitives.Add(src, shift, dst);
                TensorPrimitives.Exp(dst, dst);
            }
            else Exp(src, dst);
            double s = SumAsDouble(dst);
            sums[c] = s;
            total += s;
        }
        return total;
    }

    /// <summary>
    /// e_i = exp(ℓ_i) of one chunk (or any part of a row starting at a chunk boundary): the same values
    /// <see cref="ExpChunkSums"/> writes there with no shift.
    /// </summary>
    public static void Exp(ReadOnlySpan<float> log, Span<float> exp) => TensorPrimitives.Exp(log, exp);

    /// <summary>Σ x_i accumulated in double (a float accumulator would lose a large vocabulary's tail).</summary>
    public static double SumAsDouble(ReadOnlySpan<float> x)
    {
        ref float p = ref MemoryMarshal.GetReference(x);
        int i = 0, n = x.Length;
        double total = 0;
        if (Vector512.IsHardwareAccelerated && n >= Vector512<float>.Count)
        {
            var acc0 = Vector512<double>.Zero;
            var acc1 = Vector512<double>.Zero;
            for (; i <= n - Vector512<float>.Count; i += Vector512<float>.Count)
            {
                var v = Vector512.LoadUnsafe(ref p, (nuint)i);
                var (lo, hi) = Vector512.Widen(v);
                acc0 += lo;
                acc1 += hi;
            }
            total = Vector512.Sum(acc0 + acc1);
        }
        else if (Vector256.IsHardwareAccelerated && n >= Vector256<float>.Count)
        {
            var acc0 = Vector256<double>.Zero;
            var acc1 = Vector256<double>.Zero;
            for (; i <= n - Vector256<float>.Count; i += Vector256<float>.Count)
            {
                var v = Vector256.LoadUnsafe(ref p, (nuint)i);
                var (lo, hi) = Vector256.Widen(v);
                acc0 += lo;
                acc1 += hi;
            }
            total = Vector256.Sum(acc0 + acc1);
        }
        for (; i < n; i++) total += Unsafe.Add(ref p, i);
        return total;
    }
}
