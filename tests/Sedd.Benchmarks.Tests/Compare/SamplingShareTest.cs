using Sedd.Compare;
using Sedd.Runtime.Onnx;
using Sedd.Runtime.Package;
using Sedd.Runtime.Sampling;

namespace Sedd.Benchmarks.Tests.Compare;

public class SamplingShareTest
{
    [Fact]
    public void SamplingShareTest_StepsAllocateNothingAndTheCountersAddUp()
    {
        var package = ModelPackage.Open(BenchmarkTools.Model);
        var m = package.Manifest;
        using var network = OnnxScoreNetwork.Open(package, new OnnxScoreNetworkOptions { Provider = ExecutionProvider.Cpu, Threads = 1 });
        const int batch = 2, length = 16, steps = 4;
        foreach (var predictor in new[] { Predictor.Analytic, Predictor.Euler })
        {
            var c = SamplingShare.Measure(m, network, batch, length, steps, predictor, threads: 1);
            Assert.Equal(0, c.BytesPerStep);
            Assert.Equal(steps + 1, c.Steps);
            // Every sequence of every step is either evaluated or answered by the cache.
            Assert.Equal(batch * (steps + 1), c.RowEvaluations + c.CachedRows);
            Assert.InRange(c.HostShare, 0, 1);
            Assert.True(c.MsPerStep > 0);
        }
    }

    [Fact]
    public void SamplingShareTest_ACancelledTokenStopsTheRun()
    {
        var package = ModelPackage.Open(BenchmarkTools.Model);
        using var network = OnnxScoreNetwork.Open(package, new OnnxScoreNetworkOptions { Provider = ExecutionProvider.Cpu, Threads = 1 });
        using var cancel = new CancellationTokenSource();
        cancel.Cancel();
        Assert.ThrowsAny<OperationCanceledException>(() => SamplingShare.Measure(package.Manifest, network, 1, 8, 1000, Predictor.Analytic, 1, cancel.Token));
    }
}
