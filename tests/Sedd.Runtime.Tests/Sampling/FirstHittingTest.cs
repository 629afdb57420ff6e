using Sedd.Runtime.Noise;
using Sedd.Runtime.Onnx;
using Sedd.Runtime.Sampling;
using Sedd.Runtime.Tests.Onnx;

namespace Sedd.Runtime.Tests.Sampling;

/// <summary>First-hitting sampling: one token per call and sequence, exact marginals, no allocation.</summary>
public class FirstHittingTest
{
    [Fact]
    public void FirstHittingTest_EveryCallUnmasksExactlyOneTokenPerSequence()
    {
        double[] p0 = [0.4, 0.3, 0.2, 0.1];
        var graph = new AbsorbingSamplingGraph(p0.Length);
        var score = new TimeIndependentAbsorbScore(p0);
        const int length = 10;
        var sampler = new DiffusionSampler(graph, new LogLinearNoise(), score, 2, length,
            new SamplingOptions { Predictor = Predictor.FirstHitting }, InfillProjector.Prefix([1, 2]));
        sampler.Reset(4);
        double previous = 1;
        for (int call = 1; call <= length - 2; call++)
        {
            Assert.True(sampler.FirstHittingStep());
            for (int b = 0; b < 2; b++)
            {
                int masks = sampler.Tokens.Slice(b * length, length).Count(p0.Length);
                Assert.Equal(length - 2 - call, masks);
            }
            Assert.True(sampler.HitTimes[0] < previous && sampler.HitTimes[0] > 0);
            previous = sampler.HitTimes[0];
        }
        Assert.False(sampler.FirstHittingStep());
        Assert.Equal(length - 2, sampler.NetworkEvaluations);
        Assert.Equal(length - 2, score.Calls);
    }

    [Fact]
    public void FirstHittingTest_ExactScoresGiveTheDataMarginal()
    {
        // Independent positions with marginal p0: the exact reverse process ends with every position ~ p0.
        double[] p0 = [0.5, 0.25, 0.15, 0.1];
        var graph = new AbsorbingSamplingGraph(p0.Length);
        const int batch = 64, length = 32;
        var sampler = new DiffusionSampler(graph, new LogLinearNoise(), new TimeIndependentAbsorbScore(p0), batch, length,
            new SamplingOptions { Predictor = Predictor.FirstHitting, Threads = 2 });
        var counts = new double[p0.Length];
        int n = 0;
        for (ulong seed = 0; seed < 8; seed++)
            foreach (long t in sampler.Run(seed)) { counts[t]++; n++; }
        for (int y = 0; y < p0.Length; y++)
        {
            double f = counts[y] / n, se = Math.Sqrt(p0[y] * (1 - p0[y]) / n);
            Assert.True(Math.Abs(f - p0[y]) < 5 * se, $"token {y}: frequency {f:F4}, expected {p0[y]} ± {se:F4}");
        }
    }

    [Fact]
    public void FirstHittingTest_NeedsATimeIndependentAbsorbingNetwork()
    {
        double[] p0 = [0.6, 0.4];
        var e = Assert.Throws<SeddException>(() => new DiffusionSampler(new AbsorbingSamplingGraph(2), new LogLinearNoise(),
            new FactorizedAbsorbScore(p0), 1, 4, new SamplingOptions { Predictor = Predictor.FirstHitting }));
        Assert.Equal(SeddException.Usage, e.ExitCode);
        Assert.Contains("time-independent", e.Message);
    }

    [Fact]
    public void FirstHittingTest_OnnxPackageRunDoesNotAllocate()
    {
        using var package = TinyPackage.Create(length: 16, timeIndependent: true);
        var m = package.Manifest;
        using var network = OnnxScoreNetwork.Open(package.Open(), new OnnxScoreNetworkOptions { Provider = ExecutionProvider.Cpu, Threads = 1 });
        var sampler = new DiffusionSampler(m.CreateGraph(), m.CreateNoise(), network, 3, 16, new SamplingOptions { Predictor = Predictor.FirstHitting });
        sampler.Run(1);
        long before = GC.GetAllocatedBytesForCurrentThread();
        var tokens = sampler.Run(2);
        long allocated = GC.GetAllocatedBytesForCurrentThread() - before;
        Assert.True(allocated == 0, $"a first-hitting run allocated {allocated} bytes");
        Assert.DoesNotContain((long)m.Graph.MaskId!, tokens.ToArray());
        Assert.Equal(16, sampler.NetworkEvaluations);
    }
}
