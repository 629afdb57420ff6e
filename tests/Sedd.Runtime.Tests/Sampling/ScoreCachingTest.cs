using Sedd.Runtime.Noise;
using Sedd.Runtime.Onnx;
using Sedd.Runtime.Sampling;
using Sedd.Runtime.Tests.Onnx;

namespace Sedd.Runtime.Tests.Sampling;

/// <summary>Exact caching for time-independent networks: same tokens, fewer network calls.</summary>
public class ScoreCachingTest
{
    [Theory]
    [InlineData(Predictor.Analytic)]
    [InlineData(Predictor.Euler)]
    public void ScoreCachingTest_ToyGivesIdenticalTokensWithFewerEvaluations(Predictor predictor)
    {
        double[] p0 = [0.5, 0.2, 0.15, 0.1, 0.05];
        var graph = SamplingGraph.Create("absorb", p0.Length);
        var noise = NoiseSchedule.Create("loglinear", 1e-4, 20);
        long[] Run(bool cache, out DiffusionSampler sampler, out int calls)
        {
            var toy = new TimeIndependentAbsorbScore(p0);
            sampler = new DiffusionSampler(graph, noise, toy, 3, 8, new SamplingOptions { Steps = 200, Predictor = predictor, CacheScores = cache });
            var result = sampler.Run(11).ToArray();
            calls = toy.Calls;
            return result;
        }
        var uncached = Run(false, out var plain, out int plainCalls);
        var cached = Run(true, out var caching, out int cachingCalls);
        Assert.Equal(uncached, cached);
        Assert.False(plain.Caching);
        Assert.True(caching.Caching);
        Assert.Equal(201, plain.NetworkEvaluations);
        Assert.Equal(plainCalls, plain.NetworkCalls);
        Assert.Equal(201 * 3, plain.RowEvaluations);
        // Each of the 3 sequences has 8 positions, which change at most 8 times: at most 9 distinct
        // states per sequence reach the network, and only those sequences are evaluated.
        Assert.Equal(cachingCalls, caching.NetworkCalls);
        Assert.InRange(caching.RowEvaluations, 3, 27);
        Assert.Equal(201 * 3, caching.RowEvaluations + caching.CachedRows);
        Assert.Equal(201, caching.NetworkEvaluations + caching.CachedEvaluations);
    }

    /// <summary>
    /// A vocabulary of several draw chunks, many steps (most of them answered by the cache), two threads:
    /// the cached rows are drawn from their kept sums, without a pass over the row, and the samples are
    /// the same as without caching, for each predictor and with a temperature.
    /// </summary>
    [Theory]
    [InlineData(Predictor.Analytic, 1.0)]
    [InlineData(Predictor.Euler, 1.0)]
    [InlineData(Predictor.Analytic, 0.7)]
    [InlineData(Predictor.FirstHitting, 1.0)]
    public void ScoreCachingTest_CachedRowsAreDrawnFromTheirKeptSumsWithTheSameSamples(Predictor predictor, double temperature)
    {
        const int tokens = 1500; // three chunks of the inverse-CDF draw and part of a fourth
        var random = new Random(5);
        var weights = Enumerable.Range(0, tokens).Select(i => Math.Exp(-i / 300.0) * (0.5 + random.NextDouble())).ToArray();
        double sum = weights.Sum();
        var p0 = weights.Select(w => w / sum).ToArray();
        var graph = SamplingGraph.Create("absorb", tokens);
        var noise = NoiseSchedule.Create("loglinear", 1e-3, 20);
        (long[] Tokens, DiffusionSampler Sampler) Run(bool cache)
        {
            var options = new SamplingOptions { Steps = 256, Predictor = predictor, CacheScores = cache, Threads = 2 };
            var sampler = new DiffusionSampler(graph, noise, new TimeIndependentAbsorbScore(p0), 4, 24, options);
            var choice = temperature == 1 ? default : new TokenChoice { Temperature = temperature };
            sampler.Reset(Enumerable.Range(0, 4).Select(b => new SequenceSetup(3, (ulong)b, Choice: choice)).ToArray());
            return (sampler.Run().ToArray(), sampler);
        }
        var (plainTokens, plain) = Run(false);
        var (cachedTokens, caching) = Run(true);
        Assert.Equal(plainTokens, cachedTokens);
        Assert.All(cachedTokens, t => Assert.InRange(t, 0, tokens - 1)); // every position unmasked
        if (predictor == Predictor.FirstHitting) return; // one draw per evaluation: nothing to keep
        Assert.True(caching.CachedRows > caching.RowEvaluations, $"cached {caching.CachedRows}, evaluated {caching.RowEvaluations}");
        Assert.True(caching.RowPasses * 2 < plain.RowPasses, $"row passes: {caching.RowPasses} with caching, {plain.RowPasses} without");
    }

    [Fact]
    public void ScoreCachingTest_NetworkThatIsNotTimeIndependentIsAlwaysCalled()
    {
        double[] p0 = [0.6, 0.4];
        var sampler = new DiffusionSampler(SamplingGraph.Create("absorb", 2), NoiseSchedule.Create("loglinear", 1e-4, 20),
            new FactorizedAbsorbScore(p0), 1, 4, new SamplingOptions { Steps = 50 });
        sampler.Run(1);
        Assert.False(sampler.Caching);
        Assert.Equal(51, sampler.NetworkEvaluations);
        Assert.Equal(0, sampler.CachedEvaluations);
    }

    [Fact]
    public void ScoreCachingTest_TimeIndependentOnnxPackageGivesIdenticalTokensWithFewerEvaluations()
    {
        using var package = TinyPackage.Create(length: 16, timeIndependent: true);
        var m = package.Manifest;
        using var network = OnnxScoreNetwork.Open(package.Open(), new OnnxScoreNetworkOptions { Provider = ExecutionProvider.Cpu, Threads = 1 });
        Assert.True(network.TimeIndependent);
        DiffusionSampler Make(bool cache) => new(m.CreateGraph(), m.CreateNoise(), network, 2, 16, new SamplingOptions { Steps = 128, CacheScores = cache });
        var plain = Make(false);
        var uncached = plain.Run(21).ToArray();
        var caching = Make(true);
        var cached = caching.Run(21).ToArray();
        Assert.Equal(uncached, cached);
        Assert.Equal(129, plain.NetworkEvaluations);
        Assert.InRange(caching.NetworkEvaluations, 1, 33);
        Assert.Equal(129, caching.NetworkEvaluations + caching.CachedEvaluations);
    }
}
