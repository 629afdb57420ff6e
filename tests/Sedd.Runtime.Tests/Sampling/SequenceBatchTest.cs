using Sedd.Runtime.Noise;
using Sedd.Runtime.Onnx;
using Sedd.Runtime.Sampling;
using Sedd.Runtime.Tests.Onnx;

namespace Sedd.Runtime.Tests.Sampling;

/// <summary>
/// Sequences with their own seeds, stream indices, prompts and token choices share a batch and each
/// draws what it would draw alone; per-sequence caching evaluates only the sequences that changed.
/// </summary>
public class SequenceBatchTest
{
    static readonly double[] s_p0 = [0.3, 0.25, 0.2, 0.1, 0.08, 0.05, 0.02];

    static SequenceSetup[] Mixed(int length) =>
    [
        new(11, 0),
        new(11, 1, InfillProjector.Prefix([2, 3])),
        new(7, 5, InfillProjector.Affix([1], [4], length), new TokenChoice(0.5)),
        new(123, 2, null, new TokenChoice(1, topK: 2)),
        new(11, 3, null, new TokenChoice(1.5, topP: 0.8)),
    ];

    static long[] RunAlone(SamplingGraph graph, NoiseSchedule noise, IScoreFunction score, int length, SamplingOptions options, SequenceSetup setup)
    {
        var one = new DiffusionSampler(graph, noise, score, 1, length, options);
        one.Reset([setup]);
        return one.Run().ToArray();
    }

    [Theory]
    [InlineData(Predictor.Analytic, true)]
    [InlineData(Predictor.Euler, false)]
    [InlineData(Predictor.FirstHitting, true)]
    public void SequenceBatchTest_EachSequenceDrawsWhatItDrawsAlone(Predictor predictor, bool cache)
    {
        var graph = SamplingGraph.Create("absorb", s_p0.Length);
        var noise = new LogLinearNoise();
        var score = new TimeIndependentAbsorbScore(s_p0);
        const int length = 12;
        var options = new SamplingOptions { Predictor = predictor, Steps = 20, CacheScores = cache };
        var setups = Mixed(length);
        var batch = new DiffusionSampler(graph, noise, score, setups.Length, length, options);
        batch.Reset(setups);
        var together = batch.Run().ToArray();
        for (int b = 0; b < setups.Length; b++)
            Assert.Equal(RunAlone(graph, noise, score, length, options, setups[b]), together[(b * length)..((b + 1) * length)]);
        // The classic single-seed run is the setup (seed, b) for sequence b.
        var classic = new DiffusionSampler(graph, noise, score, 3, length, options).Run(11).ToArray();
        Assert.Equal(RunAlone(graph, noise, score, length, options, new(11, 2)), classic[(2 * length)..]);
    }

    [Fact]
    public void SequenceBatchTest_OnnxPackageGivesEachSequenceItsOwnSample()
    {
        using var package = TinyPackage.Create(length: 16, timeIndependent: true);
        var m = package.Manifest;
        using var network = OnnxScoreNetwork.Open(package.Open(), new OnnxScoreNetworkOptions { Provider = ExecutionProvider.Cpu, Threads = 1 });
        var options = new SamplingOptions { Steps = 24 };
        SequenceSetup[] setups = [new(5, 0), new(5, 1, InfillProjector.Prefix([1, 2, 3])), new(9, 4), new(5, 3, null, new TokenChoice(0.7))];
        var batch = new DiffusionSampler(m.CreateGraph(), m.CreateNoise(), network, setups.Length, 16, options);
        batch.Reset(setups);
        var together = batch.Run().ToArray();
        // Scattered sequences that changed were gathered into one call per step.
        Assert.True(batch.Gathers);
        Assert.True(batch.GatheredEvaluations > 0, "some steps evaluated scattered sequences");
        Assert.Equal(batch.NetworkEvaluations, batch.NetworkCalls);
        for (int b = 0; b < setups.Length; b++)
        {
            var alone = new DiffusionSampler(m.CreateGraph(), m.CreateNoise(), network, 1, 16, options);
            alone.Reset([setups[b]]);
            Assert.Equal(alone.Run().ToArray(), together[(b * 16)..((b + 1) * 16)]);
        }
        // The same batch sampled again with the network bound to another sampler in between.
        var again = new DiffusionSampler(m.CreateGraph(), m.CreateNoise(), network, setups.Length, 16, options);
        again.Reset(setups);
        Assert.Equal(together, again.Run().ToArray());
    }

    [Fact]
    public void SequenceBatchTest_OnnxPackageEvaluatesRangesAroundAFrozenSequenceInPlace()
    {
        // No caching, so no staging batch: a frozen middle sequence splits each step into two calls.
        using var package = TinyPackage.Create(length: 16, timeIndependent: true);
        var m = package.Manifest;
        using var network = OnnxScoreNetwork.Open(package.Open(), new OnnxScoreNetworkOptions { Provider = ExecutionProvider.Cpu, Threads = 1 });
        var options = new SamplingOptions { Steps = 12, CacheScores = false };
        SequenceSetup[] setups = [new(5, 0), new(6, 1), new(7, 2)];
        var batch = new DiffusionSampler(m.CreateGraph(), m.CreateNoise(), network, 3, 16, options);
        Assert.False(batch.Gathers);
        batch.Reset(setups);
        batch.Freeze(1);
        for (int i = 0; i < options.Steps; i++) batch.PredictorStep(i);
        batch.DenoiseStep();
        Assert.Equal(2 * batch.NetworkEvaluations, batch.NetworkCalls);
        Assert.Equal(0, batch.GatheredEvaluations);
        foreach (int b in new[] { 0, 2 })
        {
            var alone = new DiffusionSampler(m.CreateGraph(), m.CreateNoise(), network, 1, 16, options);
            alone.Reset([setups[b]]);
            Assert.Equal(alone.Run().ToArray(), batch.Tokens[(b * 16)..((b + 1) * 16)].ToArray());
        }
    }

    [Fact]
    public void SequenceBatchTest_PerSequenceCachingEvaluatesOnlyChangedSequences()
    {
        var graph = SamplingGraph.Create("absorb", s_p0.Length);
        var noise = new LogLinearNoise();
        const int batch = 8, length = 32, steps = 64;
        long[] Run(bool cache, out DiffusionSampler sampler, out TimeIndependentAbsorbScore score)
        {
            score = new TimeIndependentAbsorbScore(s_p0);
            sampler = new DiffusionSampler(graph, noise, score, batch, length, new SamplingOptions { Steps = steps, CacheScores = cache });
            return sampler.Run(3).ToArray();
        }
        var plain = Run(false, out var uncached, out var uncachedScore);
        var cached = Run(true, out var caching, out var cachingScore);
        Assert.Equal(plain, cached);
        Assert.Equal((steps + 1) * batch, uncached.RowEvaluations);
        Assert.Equal(uncachedScore.Sequences, uncached.RowEvaluations);
        Assert.Equal(cachingScore.Sequences, caching.RowEvaluations);
        Assert.True(caching.GatheredEvaluations > 0, "scattered changed sequences were gathered");
        Assert.Equal(caching.NetworkEvaluations, caching.NetworkCalls);
        Assert.Equal(caching.NetworkEvaluations, cachingScore.Calls);
        Assert.Equal((steps + 1) * batch, caching.RowEvaluations + caching.CachedRows);
        // With 2 steps per position, a sequence stays unchanged in a good share of steps.
        Assert.True(caching.RowEvaluations * 1.5 <= uncached.RowEvaluations, $"{caching.RowEvaluations} of {uncached.RowEvaluations} rows evaluated");
    }

    [Fact]
    public void SequenceBatchTest_FrozenSequencesAreNeitherEvaluatedNorDrawn()
    {
        var graph = SamplingGraph.Create("absorb", s_p0.Length);
        var score = new TimeIndependentAbsorbScore(s_p0);
        var sampler = new DiffusionSampler(graph, new LogLinearNoise(), score, 3, 8, new SamplingOptions { Steps = 10, CacheScores = false });
        sampler.Reset(1);
        sampler.PredictorStep(0);
        sampler.Freeze(1);
        var frozen = sampler.Tokens[8..16].ToArray();
        long before = score.Sequences;
        for (int i = 1; i < 10; i++) sampler.PredictorStep(i);
        sampler.DenoiseStep();
        Assert.Equal(frozen, sampler.Tokens[8..16].ToArray());
        Assert.Equal(before + 10 * 2, score.Sequences);
        Assert.DoesNotContain((long)s_p0.Length, sampler.Tokens[..8].ToArray());
    }
}
