using System.Numerics;
using System.Runtime.CompilerServices;

namespace Sedd.Runtime.Sampling;

/// <summary>
/// xoshiro256** (Blackman and Vigna, 2018): a small, fast 64-bit generator with 256 bits of state.
/// The sampler creates one short-lived stream per (seed, step, row) with <see cref="ForRow"/>, so a
/// draw depends only on those three numbers and never on which thread handled the row or in which
/// order rows were visited (platform-notes §5).
/// </summary>
public struct Xoshiro256StarStar
{
    // Golden-ratio increment of splitmix64.
    const ulong Gamma = 0x9E3779B97F4A7C15UL;

    ulong s0, s1, s2, s3;

    /// <summary>A generator whose state is expanded from <paramref name="seed"/> with splitmix64, as the authors recommend.</summary>
    /// <param name="seed">Any 64-bit value (0 is fine).</param>
    public Xoshiro256StarStar(ulong seed)
    {
        ulong x = seed;
        s0 = SplitMix64(ref x);
        s1 = SplitMix64(ref x);
        s2 = SplitMix64(ref x);
        s3 = SplitMix64(ref x);
        // An all-zero state is the one fixed point of xoshiro; splitmix64 cannot produce four zeros
        // in a row, but keep the guard so the invariant is local.
        if ((s0 | s1 | s2 | s3) == 0) s0 = Gamma;
    }

    /// <summary>Raw state, for known-answer tests against the reference implementation.</summary>
    internal Xoshiro256StarStar(ulong a, ulong b, ulong c, ulong d) => (s0, s1, s2, s3) = (a, b, c, d);

    /// <summary>
    /// The stream of one sampled row at one step: splitmix64 hashes (seed, step, row) into a 64-bit key,
    /// which seeds the generator. Distinct triples give independent-looking streams.
    /// </summary>
    /// <param name="seed">Run seed.</param>
    /// <param name="step">Step index (the sampler uses <c>steps</c> for the denoiser and <see cref="ulong.MaxValue"/> for the limit draw).</param>
    /// <param name="row">Flat position index b·L + l.</param>
    public static Xoshiro256StarStar ForRow(ulong seed, ulong step, ulong row)
    {
        ulong key = Mix(seed + Gamma);
        key = Mix(key ^ unchecked(step + 2 * Gamma));
        key = Mix(key ^ unchecked(row + 3 * Gamma));
        return new Xoshiro256StarStar(key);
    }

    /// <summary>The next 64 random bits.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public ulong NextUInt64()
    {
        ulong result = BitOperations.RotateLeft(s1 * 5, 7) * 9;
        ulong t = s1 << 17;
        s2 ^= s0;
        s3 ^= s1;
        s1 ^= s2;
        s0 ^= s3;
        s2 ^= t;
        s3 = BitOperations.RotateLeft(s3, 45);
        return result;
    }

    /// <summary>A uniform double in [0, 1) with 53 random bits (never 1).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public double NextDouble() => (NextUInt64() >> 11) * (1.0 / (1UL << 53));

    /// <summary>Fills <paramref name="destination"/> with uniform doubles in [0, 1).</summary>
    /// <param name="destination">Buffer to fill.</param>
    public void NextDoubles(Span<double> destination)
    {
        for (int i = 0; i < destination.Length; i++) destination[i] = NextDouble();
    }

    /// <summary>A uniform integer in [0, <paramref name="n"/>) without modulo bias (Lemire's multiply-and-reject).</summary>
    /// <param name="n">Exclusive upper bound, ≥ 1.</param>
    public int NextInt(int n)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(n, 1);
        ulong range = (ulong)n;
        UInt128 m = (UInt128)NextUInt64() * range;
        ulong low = (ulong)m;
        if (low < range)
        {
            ulong threshold = (0 - range) % range;
            while (low < threshold)
            {
                m = (UInt128)NextUInt64() * range;
                low = (ulong)m;
            }
        }
        return (int)(ulong)(m >> 64);
    }

    /// <summary>splitmix64 (Vigna): advances <paramref name="x"/> by the golden gamma and returns its mix.</summary>
    /// <param name="x">Generator state, updated.</param>
    public static ulong SplitMix64(ref ulong x)
    {
        x += Gamma;
        return Mix(x);
    }

    // The splitmix64 output function (Stafford's variant 13).
    static ulong Mix(ulong z)
    {
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9UL;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EBUL;
        return z ^ (z >> 31);
    }
}
