using Sedd.Runtime.Sampling;

namespace Sedd.Runtime.Tests.Sampling;

/// <summary>The seeded generator against the published reference algorithms (known-answer values).</summary>
public class Xoshiro256StarStarTest
{
    [Fact]
    public void Xoshiro256StarStarTest_KnownAnswers()
    {
        // xoshiro256** from state {1, 2, 3, 4}, as the reference C code (prng.di.unimi.it) computes it.
        var x = new Xoshiro256StarStar(1, 2, 3, 4);
        ulong[] expected = [11520, 0, 1509978240, 1215971899390074240, 1216172134540287360, 607988272756665600];
        foreach (ulong e in expected) Assert.Equal(e, x.NextUInt64());
    }

    [Fact]
    public void Xoshiro256StarStarTest_SplitMix64KnownAnswers()
    {
        ulong state = 1234567;
        ulong[] expected = [6457827717110365317, 3203168211198807973, 9817491932198370423, 4593380528125082431, 16408922859458223821];
        foreach (ulong e in expected) Assert.Equal(e, Xoshiro256StarStar.SplitMix64(ref state));
    }

    [Fact]
    public void Xoshiro256StarStarTest_RowStreamsAreReproducibleAndDistinct()
    {
        var a = Xoshiro256StarStar.ForRow(42, 3, 17);
        var b = Xoshiro256StarStar.ForRow(42, 3, 17);
        for (int i = 0; i < 10; i++) Assert.Equal(a.NextUInt64(), b.NextUInt64());
        var first = new HashSet<ulong>();
        for (ulong seed = 0; seed < 3; seed++)
            for (ulong step = 0; step < 20; step++)
                for (ulong row = 0; row < 50; row++)
                {
                    var r = Xoshiro256StarStar.ForRow(seed, step, row);
                    Assert.True(first.Add(r.NextUInt64()), $"stream ({seed}, {step}, {row}) repeats another stream's first output");
                }
    }

    [Fact]
    public void Xoshiro256StarStarTest_RangesAndMeans()
    {
        var x = new Xoshiro256StarStar(9);
        const int n = 200_000;
        double sum = 0;
        var counts = new int[7];
        for (int i = 0; i < n; i++)
        {
            double u = x.NextDouble();
            Assert.InRange(u, 0.0, Math.BitDecrement(1.0));
            sum += u;
            counts[x.NextInt(7)]++;
        }
        // Mean of U[0,1) has standard deviation 1/sqrt(12 n) ≈ 6.5e-4; allow 5 sigma.
        Assert.InRange(sum / n, 0.5 - 3.3e-3, 0.5 + 3.3e-3);
        double chi2 = 0;
        foreach (int c in counts) chi2 += (c - n / 7.0) * (c - n / 7.0) / (n / 7.0);
        Assert.True(chi2 < CategoricalSamplerTest.ChiSquareCritical(6, 5), $"NextInt(7) chi-square {chi2:F1}");
    }
}
