using Sedd.Runtime.Noise;
using Sedd.Runtime.Sampling;
using Xunit.Sdk;

namespace Sedd.Runtime.Tests.Sampling;

/// <summary>
/// The driver of spec §6.1 with toy score functions: exact marginals from exact scores, the infill
/// invariant, reproducibility from a seed whatever the thread count, network-evaluation counts,
/// no allocation per run, and the user-facing errors.
/// </summary>
public class DiffusionSamplerTest
{
    static readonly double[] s_p0 = [0.15, 0, 0.25, 0.6]; // token 1 has probability 0

    static (SamplingGraph Graph, NoiseSchedule Noise, IScoreFunction Score) Toy(string graph, double[] p0) => graph switch
    {
        "absorb" => (new AbsorbingSamplingGraph(p0.Length), new LogLinearNoise(), new FactorizedAbsorbScore(p0)),
        "uniform" => (new UniformSamplingGraph(p0.Length), new GeometricNoise(1e-4, 20), new FactorizedUniformScore(p0)),
        _ => throw new XunitException($"unknown graph {graph}"),
    };

    static double[] RandomMarginal(int n, ulong seed)
    {
        var random = new Xoshiro256StarStar(seed);
        var p = new double[n];
        double total = 0;
        for (int i = 0; i < n; i++) total += p[i] = 0.05 + random.NextDouble();
        for (int i = 0; i < n; i++) p[i] /= total;
        return p;
    }

    [Theory]
    [InlineData("absorb", Predictor.Analytic, 8)]
    [InlineData("absorb", Predictor.Euler, 8)]
    [InlineData("absorb", Predictor.Analytic, 1)]
    [InlineData("uniform", Predictor.Analytic, 16)]
    public void DiffusionSamplerTest_ExactScoresGiveTheDataMarginal(string graphKind, Predictor predictor, int steps)
    {
        // With exact scores of independent positions every position ends distributed as p0
        // (Tweedie steps are exact per position; absorb Euler picks real tokens ∝ p0 whenever it
        // unmasks, and the denoiser unmasks the rest ∝ p0).
        var (graph, noise, score) = Toy(graphKind, s_p0);
        const int batch = 32, length = 32;
        var sampler = new DiffusionSampler(graph, noise, score, batch, length,
            new SamplingOptions { Predictor = predictor, Steps = steps });
        var counts = new long[graph.Dimension];
        int draws = 0;
        for (ulong seed = 1; seed <= 4; seed++)
            foreach (long token in sampler.Run(seed))
            {
                counts[token]++;
                draws++;
            }
        for (int k = s_p0.Length; k < counts.Length; k++) Assert.True(counts[k] == 0, $"{counts[k]} masks survived the denoiser");
        Assert.True(counts[1] == 0, $"token 1 has probability 0 but was drawn {counts[1]} times");
        double chi2 = 0;
        int categories = 0;
        for (int k = 0; k < s_p0.Length; k++)
        {
            if (s_p0[k] == 0) continue;
            double e = draws * s_p0[k];
            chi2 += (counts[k] - e) * (counts[k] - e) / e;
            categories++;
        }
        double critical = CategoricalSamplerTest.ChiSquareCritical(categories - 1, z: 5);
        Assert.True(chi2 < critical, $"chi-square {chi2:F1} exceeds {critical:F1}; counts {string.Join(", ", counts)}");
    }

    [Theory]
    [InlineData("absorb", Predictor.Analytic)]
    [InlineData("absorb", Predictor.Euler)]
    [InlineData("uniform", Predictor.Analytic)]
    [InlineData("uniform", Predictor.Euler)]
    public void DiffusionSamplerTest_FixedTokensHoldAtEveryStep(string graphKind, Predictor predictor)
    {
        const int batch = 3, length = 10, steps = 6;
        var (graph, noise, inner) = Toy(graphKind, RandomMarginal(7, 2));
        var projector = new InfillProjector([0, 1, length - 1], [4, 2, 6]);
        var watch = new StepWatch(inner, projector, length, graph is AbsorbingSamplingGraph a ? a.Mask : -1);
        var sampler = new DiffusionSampler(graph, noise, watch, batch, length,
            new SamplingOptions { Predictor = predictor, Steps = steps }, projector);
        var result = sampler.Run(seed: 7);
        Assert.Equal(steps + 1, watch.Calls);
        Assert.Equal(0, watch.FixedViolations);
        Assert.Equal(0, watch.RealTokenChanges);
        for (int b = 0; b < batch; b++)
            for (int k = 0; k < projector.Count; k++)
                Assert.Equal(projector.Ids[k], result[b * length + projector.Positions[k]]);
    }

    [Theory]
    [InlineData("absorb", 511, 4, 64)]
    [InlineData("uniform", 300, 2, 128)]
    public void DiffusionSamplerTest_SeedDeterminesTheSampleWhateverTheThreads(string graphKind, int tokens, int batch, int length)
    {
        // Big enough (rows × D ≥ 65 536) that several threads really split the rows.
        var (graph, noise, score) = Toy(graphKind, RandomMarginal(tokens, 4));
        long[] RunWith(int threads, ulong seed) =>
            new DiffusionSampler(graph, noise, score, batch, length, new SamplingOptions { Steps = 4, Threads = threads })
                .Run(seed).ToArray();
        var single = RunWith(1, 123);
        Assert.Equal(single, RunWith(1, 123));
        Assert.Equal(single, RunWith(3, 123));
        Assert.Equal(single, RunWith(0, 123));
        Assert.NotEqual(single, RunWith(3, 124));
    }

    [Theory]
    [InlineData(1, true, 2)]
    [InlineData(1, false, 1)]
    [InlineData(5, true, 6)]
    public void DiffusionSamplerTest_CountsNetworkEvaluations(int steps, bool denoise, int evaluations)
    {
        var (graph, noise, inner) = Toy("absorb", s_p0);
        var watch = new StepWatch(inner, InfillProjector.None, 4);
        var sampler = new DiffusionSampler(graph, noise, watch, 2, 4, new SamplingOptions { Steps = steps, Denoise = denoise });
        sampler.Run(1);
        Assert.Equal(evaluations, sampler.NetworkEvaluations);
        Assert.Equal(evaluations, watch.Calls);
        sampler.Run(2);
        Assert.Equal(evaluations, sampler.NetworkEvaluations); // per run
    }

    [Theory]
    [InlineData("absorb", Predictor.Euler)]
    [InlineData("absorb", Predictor.Analytic)]
    [InlineData("uniform", Predictor.Analytic)]
    public void DiffusionSamplerTest_RunDoesNotAllocate(string graphKind, Predictor predictor)
    {
        var (graph, noise, score) = Toy(graphKind, RandomMarginal(600, 8)); // 600 > one 512-wide chunk
        var sampler = new DiffusionSampler(graph, noise, score, 2, 16,
            new SamplingOptions { Predictor = predictor, Steps = 5, Threads = 1 }, new InfillProjector([3], [1]));
        sampler.Run(1);
        long before = GC.GetAllocatedBytesForCurrentThread();
        sampler.Run(2);
        long allocated = GC.GetAllocatedBytesForCurrentThread() - before;
        Assert.True(allocated == 0, $"a run allocated {allocated} bytes");
    }

    [Theory]
    [InlineData(Predictor.Euler)]
    [InlineData(Predictor.Analytic)]
    public void DiffusionSamplerTest_SeveralWorkersDoNotAllocateAndDrawTheSameTokens(Predictor predictor)
    {
        // 2 × 64 masked rows of 601 states: enough work per step for the row workers to take part.
        var (graph, noise, score) = Toy("absorb", RandomMarginal(600, 9));
        SamplingOptions Options(int threads) => new() { Predictor = predictor, Steps = 6, Threads = threads };
        var single = new DiffusionSampler(graph, noise, score, 2, 64, Options(1)).Run(5).ToArray();
        var team = new DiffusionSampler(graph, noise, score, 2, 64, Options(3));
        team.Run(4);
        long before = GC.GetAllocatedBytesForCurrentThread();
        team.Run(5);
        long allocated = GC.GetAllocatedBytesForCurrentThread() - before;
        Assert.True(allocated == 0, $"a run with 3 workers allocated {allocated} bytes");
        Assert.Equal(single, team.Tokens.ToArray());
    }

    [Fact]
    public void DiffusionSamplerTest_RejectsBadSettings()
    {
        var (graph, noise, score) = Toy("absorb", s_p0);
        var e = Assert.Throws<SeddException>(() => new DiffusionSampler(graph, noise, score, 1, 8, new SamplingOptions { Steps = 0 }));
        Assert.Equal(SeddException.Usage, e.ExitCode);
        e = Assert.Throws<SeddException>(() => new DiffusionSampler(graph, noise, score, 1, 8, projector: new InfillProjector([8], [0])));
        Assert.Contains("outside the sequence", e.Message, StringComparison.Ordinal);
        e = Assert.Throws<SeddException>(() => new DiffusionSampler(graph, noise, score, 1, 8, projector: new InfillProjector([2], [4])));
        Assert.Contains("not a token", e.Message, StringComparison.Ordinal); // 4 is the mask
        Assert.Throws<SeddException>(() => new InfillProjector([1, 1], [0, 2]));
        Assert.Throws<SeddException>(() => new DiffusionSampler(graph, noise, score, 0, 8));
    }

    [Fact]
    public void DiffusionSamplerTest_RefusesNaNScores()
    {
        var graph = new AbsorbingSamplingGraph(4);
        var sampler = new DiffusionSampler(graph, new LogLinearNoise(), new NaNScore(badRow: 5, graph.Dimension), 2, 4,
            new SamplingOptions { Steps = 2 });
        var e = Assert.Throws<SeddException>(() => sampler.Run(1));
        Assert.Equal(SeddException.BadInput, e.ExitCode);
        Assert.Contains("sequence 1, position 1", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void DiffusionSamplerTest_CancellationStopsBetweenSteps()
    {
        var (graph, noise, score) = Toy("absorb", s_p0);
        var sampler = new DiffusionSampler(graph, noise, score, 1, 4, new SamplingOptions { Steps = 3 });
        using var cts = new CancellationTokenSource();
        cts.Cancel();
        Assert.Throws<OperationCanceledException>(() => sampler.Run(1, cts.Token));
    }
}
