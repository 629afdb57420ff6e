using CsCheck;
using Sedd.Runtime.Sampling;
using Xunit.Sdk;

namespace Sedd.Runtime.Tests.Sampling;

/// <summary>
/// Both categorical samplers against exact probabilities max(w, 0) / Σ max(w, 0) (spec §6.2): a
/// chi-square test on many seeded draws (deterministic, so not flaky), zero and negative weights
/// never chosen, and the edge cases of the inverse-CDF chunking.
/// </summary>
public class CategoricalSamplerTest
{
    public static TheoryData<string> Samplers => new() { "inverse-cdf", "race" };

    [Theory]
    [MemberData(nameof(Samplers))]
    public void CategoricalSamplerTest_ChiSquare_Small(string name)
    {
        double[] weights = [0.1, 0, 0.35, -0.2, 0.05, 0.5, 1e-3];
        CheckFrequencies(CategoricalSampler.Create(name), weights, draws: 100_000, seed: 11);
    }

    [Theory]
    [MemberData(nameof(Samplers))]
    public void CategoricalSamplerTest_ChiSquare_Wide(string name)
    {
        // 1100 candidates cross the 256- and 512-wide chunks of both samplers; a run of 260 entries
        // across a chunk boundary is empty and some entries are zero or negative, as Euler weights
        // with large steps are.
        var weights = new double[1100];
        var random = new Xoshiro256StarStar(5);
        for (int k = 0; k < weights.Length; k++)
            weights[k] = k % 7 == 0 ? 0 : k % 11 == 0 ? -random.NextDouble() : 0.2 + random.NextDouble();
        weights.AsSpan(300, 260).Clear();
        CheckFrequencies(CategoricalSampler.Create(name), weights, draws: 20_000, seed: 12);
    }

    [Theory]
    [MemberData(nameof(Samplers))]
    public void CategoricalSamplerTest_NegativeAndZeroWeightsNeverChosen_Property(string name)
    {
        var sampler = CategoricalSampler.Create(name);
        var gen = Gen.Select(
            Gen.Frequency((3, Gen.Double[-1, 1]), (1, Gen.Const(0.0)), (1, Gen.Double[-1e300, 0])).Array[1, 1200],
            Gen.Int[0, 1199], Gen.Double[1e-300, 10], Gen.ULong);
        gen.Sample((w, at, positive, seed) =>
        {
            w[at % w.Length] = positive; // at least one positive weight
            var random = new Xoshiro256StarStar(seed);
            for (int draw = 0; draw < 20; draw++)
            {
                int k = sampler.Sample(w, row: 0, ref random);
                if (!(w[k] > 0)) throw new XunitException($"{name} chose index {k} with weight {w[k]} (length {w.Length})");
            }
        }, iter: 300);
    }

    [Theory]
    [MemberData(nameof(Samplers))]
    public void CategoricalSamplerTest_SinglePositiveAlwaysChosen(string name)
    {
        // 140 000 candidates: more chunks than the inverse-CDF keeps on the stack.
        var sampler = CategoricalSampler.Create(name);
        var weights = new double[140_000];
        weights.AsSpan().Fill(-1);
        weights[^1] = 1e-200;
        var random = new Xoshiro256StarStar(3);
        for (int draw = 0; draw < 5; draw++) Assert.Equal(weights.Length - 1, sampler.Sample(weights, 0, ref random));
        weights[^1] = 0;
        weights[700] = 2;
        for (int draw = 0; draw < 5; draw++) Assert.Equal(700, sampler.Sample(weights, 0, ref random));
    }

    [Fact]
    public void CategoricalSamplerTest_InverseCdfBoundaries()
    {
        double[] w = [0, -1, 0.25, 0, 0.75, 0];
        Assert.Equal(2, InverseCdfSampler.Draw(w, 0.0));
        Assert.Equal(2, InverseCdfSampler.Draw(w, 0.2499));
        Assert.Equal(4, InverseCdfSampler.Draw(w, 0.25));
        Assert.Equal(4, InverseCdfSampler.Draw(w, Math.BitDecrement(1.0)));
        // Nothing positive: the first largest weight, as the race's argmax does for all zeros.
        Assert.Equal(0, InverseCdfSampler.Draw([0, 0, 0], 0.5));
        Assert.Equal(0, ExponentialRaceSampler.Argmax([0, 0, 0], [0.1, 0.5, 0.9]));
    }

    [Fact]
    public void CategoricalSamplerTest_RaceNeedsOneUniformPerWeight() =>
        Assert.Throws<ArgumentException>(() => ExponentialRaceSampler.Argmax([1, 2], [0.5]));

    /// <summary>Chi-square of the observed counts against max(w, 0) / Σ, at a 5-sigma critical value.</summary>
    static void CheckFrequencies(CategoricalSampler sampler, double[] weights, int draws, ulong seed)
    {
        var counts = new long[weights.Length];
        for (int n = 0; n < draws; n++)
        {
            var random = Xoshiro256StarStar.ForRow(seed, 0, (ulong)n);
            counts[sampler.Sample(weights, n, ref random)]++;
        }
        double total = 0;
        foreach (double w in weights) total += Math.Max(w, 0);
        double chi2 = 0;
        int categories = 0;
        for (int k = 0; k < weights.Length; k++)
        {
            if (!(weights[k] > 0))
            {
                if (counts[k] != 0) throw new XunitException($"index {k} with weight {weights[k]} was drawn {counts[k]} times");
                continue;
            }
            double e = draws * weights[k] / total;
            chi2 += (counts[k] - e) * (counts[k] - e) / e;
            categories++;
        }
        double critical = ChiSquareCritical(categories - 1, z: 5);
        Assert.True(chi2 < critical, $"chi-square {chi2:F1} over {categories - 1} degrees of freedom exceeds {critical:F1}");
    }

    /// <summary>Wilson–Hilferty approximation of the chi-square quantile at standard-normal z.</summary>
    internal static double ChiSquareCritical(int df, double z)
    {
        double a = 2.0 / (9 * df);
        return df * Math.Pow(1 - a + z * Math.Sqrt(a), 3);
    }
}
