using Sedd.Exporter;
using Sedd.Runtime.Onnx;
using Sedd.Runtime.Sampling;
using Sedd.Tests;

namespace Sedd.Runtime.Tests.Onnx;

/// <summary>The ONNX score network: providers, the manifest contract, in-place bound runs, allocations.</summary>
public sealed class OnnxScoreNetworkTest : IDisposable
{
    readonly TinyPackage package = TinyPackage.Create();

    public void Dispose() => package.Dispose();

    OnnxScoreNetwork Open(ExecutionProvider provider = ExecutionProvider.Cpu, int threads = 1) =>
        OnnxScoreNetwork.Open(package.Open(), new OnnxScoreNetworkOptions { Provider = provider, Threads = threads });

    [Fact]
    public void OnnxScoreNetworkTest_CpuProviderRunsAndMatchesThePlainSession()
    {
        using var network = Open();
        Assert.Equal(ExecutionProvider.Cpu, network.Provider.Provider);
        Assert.Equal(TinyPackage.States, network.States);
        int batch = 2, length = 7, d = TinyPackage.States;
        var tokens = new long[batch * length];
        for (int i = 0; i < tokens.Length; i++) tokens[i] = i % 3 == 0 ? TinyPackage.Tokens : i * 31 % TinyPackage.Tokens;
        float[] sigma = [0.3f, 2.5f];
        var unbound = new float[batch * length * d];
        network.Score(tokens, sigma, unbound);

        // Bound to the arrays, the same call must write the same numbers in place.
        var bound = new float[unbound.Length];
        network.Bind(tokens, sigma, bound, batch, length);
        network.Score(tokens, sigma, bound);
        Goldens.AssertClose("bound vs unbound", "log_score", D(unbound), D(bound), Exact);

        // The exporter's own plain ORT session on the same file is the reference.
        using var reference = new ScoreNetworkSession(package.OnnxPath);
        var (expected, shape) = reference.Run(tokens, sigma, length);
        Assert.Equal(new long[] { batch, length, d }, shape);
        Goldens.AssertClose("OnnxScoreNetwork vs ScoreNetworkSession", "log_score", D(expected), D(bound), Exact);
        for (int r = 0; r < tokens.Length; r++) Assert.Equal(0f, bound[r * d + (int)tokens[r]]); // spec §5.7 step 2
        Assert.Contains(bound, v => v != 0 && float.IsFinite(v));
    }

    [Fact]
    public void OnnxScoreNetworkTest_BoundRunSeesNewTokensWithoutRebinding()
    {
        using var network = Open();
        int length = 5, d = TinyPackage.States;
        var tokens = new long[length];
        var sigma = new float[] { 1f };
        var score = new float[length * d];
        network.Bind(tokens, sigma, score, 1, length);
        Array.Fill(tokens, TinyPackage.Tokens);
        network.Score(tokens, sigma, score);
        var first = score.ToArray();
        tokens[2] = 42;
        network.Score(tokens, sigma, score);
        Assert.Equal(0f, score[2 * d + 42]);
        Assert.NotEqual(first, score);
    }

    [Fact]
    public void OnnxScoreNetworkTest_ExplicitCudaIsAnEnvironmentErrorNamingTheLibraries()
    {
        var e = Assert.Throws<SeddException>(() => Open(ExecutionProvider.Cuda));
        Assert.Equal(SeddException.Environment, e.ExitCode);
        Assert.Contains("CUDA 13", e.Message, StringComparison.Ordinal);
        Assert.Contains("cuDNN 9", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void OnnxScoreNetworkTest_ExplicitDirectMLIsAnEnvironmentError()
    {
        var e = Assert.Throws<SeddException>(() => Open(ExecutionProvider.Dml));
        Assert.Equal(SeddException.Environment, e.ExitCode);
        Assert.Equal(ExecutionProviders.DmlMissing, e.Message);
    }

    [Fact]
    public void OnnxScoreNetworkTest_AutoSkipsProvidersTheBuildLacks()
    {
        // The tests run on ONNX Runtime's CPU library: CUDA and DirectML are not compiled in, so auto
        // takes the CPU and has nothing to report; explicit requests still say what is missing.
        using var network = Open(ExecutionProvider.Auto);
        Assert.Equal(ExecutionProvider.Cpu, network.Provider.Provider);
        Assert.False(ExecutionProviders.GpuCompiledIn);
        Assert.Empty(network.Provider.Rejected);
        Assert.Equal("provider cpu (auto)", network.Provider.Describe());
        Assert.Contains("not in this build", Assert.Throws<SeddException>(() => Open(ExecutionProvider.Cuda)).Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("auto", ExecutionProvider.Auto)]
    [InlineData("CPU", ExecutionProvider.Cpu)]
    [InlineData("cuda", ExecutionProvider.Cuda)]
    [InlineData("directml", ExecutionProvider.Dml)]
    public void OnnxScoreNetworkTest_ParsesProviders(string text, ExecutionProvider expected) =>
        Assert.Equal(expected, ExecutionProviders.Parse(text));

    [Fact]
    public void OnnxScoreNetworkTest_ThreadsBeyondAFewPerCore_AreAUsageErrorBeforeAnyThreadStarts()
    {
        var e = Assert.Throws<SeddException>(() => Open(threads: ThreadCount.Max + 1));
        Assert.Equal(SeddException.Usage, e.ExitCode);
        Assert.Contains("per core", e.Message, StringComparison.Ordinal);
        using var most = Open(threads: ThreadCount.Max);   // the cap itself is allowed
    }

    [Fact]
    public void OnnxScoreNetworkTest_UnknownProviderIsAUsageError() =>
        Assert.Equal(SeddException.Usage, Assert.Throws<SeddException>(() => ExecutionProviders.Parse("tpu")).ExitCode);

    [Theory]
    [InlineData("output-name", "declares outputs (log_score) but manifest.json says (logits)")]
    [InlineData("input-type", "declares input sigma as float32 [batch] but manifest.json says float16 [batch]")]
    [InlineData("input-rank", "declares input indices as int64 [batch, seq] but manifest.json says int64 [batch]")]
    [InlineData("states", "declares output log_score as float32 [batch, seq, 258] but manifest.json says float32 [batch, seq, 259]")]
    public void OnnxScoreNetworkTest_ManifestDisagreeingWithTheGraphIsBadInput(string change, string expected)
    {
        using var bad = TinyPackage.Create(edit: m => change switch
        {
            "output-name" => m with { Onnx = m.Onnx with { Outputs = [m.Onnx.Outputs[0] with { Name = "logits" }] } },
            "input-type" => m with { Onnx = m.Onnx with { Inputs = [m.Onnx.Inputs[0], m.Onnx.Inputs[1] with { Type = "float16" }] } },
            "input-rank" => m with { Onnx = m.Onnx with { Inputs = [m.Onnx.Inputs[0] with { Shape = ["batch"] }, m.Onnx.Inputs[1]] } },
            "states" => m with { Onnx = m.Onnx with { Outputs = [m.Onnx.Outputs[0] with { Shape = ["batch", "seq", "259"] }] } },
            _ => throw new ArgumentException(change),
        });
        var e = Assert.Throws<SeddException>(() => OnnxScoreNetwork.Open(bad.Open(), new OnnxScoreNetworkOptions { Provider = ExecutionProvider.Cpu }));
        Assert.Equal(SeddException.BadInput, e.ExitCode);
        Assert.Contains(expected, e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void OnnxScoreNetworkTest_SteadyStateStepsAllocateNothing()
    {
        using var network = Open();
        var m = package.Manifest;
        var sampler = new DiffusionSampler(m.CreateGraph(), m.CreateNoise(), network, 2, m.Length, new SamplingOptions { Steps = 24, Threads = 1 });
        sampler.Run(3); // warm-up: ORT plans its memory on the first runs
        sampler.Reset(4);
        sampler.PredictorStep(0, 4);
        long before = GC.GetAllocatedBytesForCurrentThread();
        for (int i = 1; i < 20; i++) sampler.PredictorStep(i, 4);
        long allocated = GC.GetAllocatedBytesForCurrentThread() - before;
        Assert.True(allocated == 0, $"19 steps allocated {allocated} managed bytes");
        Assert.Equal(20, sampler.NetworkEvaluations);
        Assert.True(sampler.NetworkTime > TimeSpan.Zero && sampler.HostTime > TimeSpan.Zero);
    }

    [Fact]
    public void OnnxScoreNetworkTest_SamplersSharingTheNetworkEachRunBoundAndAllocateNothing()
    {
        // Two samplers on one session, created one after the other and run in turn: each binds its own
        // buffers again when it runs after the other, so neither falls back to copying (which allocates).
        using var network = Open();
        var m = package.Manifest;
        var options = new SamplingOptions { Steps = 24, Threads = 1 };
        var first = new DiffusionSampler(m.CreateGraph(), m.CreateNoise(), network, 2, m.Length, options);
        var second = new DiffusionSampler(m.CreateGraph(), m.CreateNoise(), network, 3, m.Length, options);
        var alone = first.Run(3).ToArray();
        second.Run(5);
        foreach (var sampler in new[] { first, second })
        {
            sampler.Reset(4);
            sampler.PredictorStep(0, 4); // binds again: the other sampler ran last
            long before = GC.GetAllocatedBytesForCurrentThread();
            for (int i = 1; i < 20; i++) sampler.PredictorStep(i, 4);
            long allocated = GC.GetAllocatedBytesForCurrentThread() - before;
            Assert.True(allocated == 0, $"19 steps of a sampler sharing the network allocated {allocated} managed bytes");
        }
        second.Run(5);
        Assert.Equal(alone, first.Run(3).ToArray());
    }

    [Fact]
    public void OnnxScoreNetworkTest_SamplerAgreesWithAPlainScoreFunctionOnTheSameGraph()
    {
        // The bound, in-place path against a score function that copies through the exporter's session.
        using var network = Open();
        using var reference = new ScoreNetworkSession(package.OnnxPath);
        var m = package.Manifest;
        var options = new SamplingOptions { Steps = 16, Predictor = Predictor.Euler };
        var a = new DiffusionSampler(m.CreateGraph(), m.CreateNoise(), network, 2, 12, options).Run(99).ToArray();
        var b = new DiffusionSampler(m.CreateGraph(), m.CreateNoise(), new SessionScore(reference), 2, 12, options).Run(99).ToArray();
        Assert.Equal(b, a);
        Assert.DoesNotContain((long)TinyPackage.Tokens, a); // denoised: no mask left
    }

    [Fact]
    public void OnnxScoreNetworkTest_SameSeedSameSamplesAtAnyThreadCount()
    {
        var m = package.Manifest;
        long[] Sample(int threads)
        {
            using var network = Open(threads: threads);
            var options = new SamplingOptions { Steps = 20, Threads = threads };
            return new DiffusionSampler(m.CreateGraph(), m.CreateNoise(), network, 3, m.Length, options).Run(5).ToArray();
        }
        Assert.Equal(Sample(1), Sample(2));
    }

    [Fact]
    public void OnnxScoreNetworkTest_ForwardCostCountsTheMatmuls()
    {
        // One token of a 1-block model at L = 1: qkv + out (4H²) + MLP (2·H·4H) + attention (4·L·H) + output (H·D), doubled.
        var m = package.Manifest;
        double h = 16, c = 8, d = TinyPackage.States;
        double perToken = 2 * (4 * h * h + 8 * h * h) + 4 * 1 * h + 2 * h * d;
        double perSequence = 2 * (256 * c + c * c) + 2 * c * 6 * h + 2 * c * 2 * h;
        Assert.Equal(3 * (perToken + perSequence), ForwardCost.Flops(m, 3, 1), 6);
        Assert.True(ForwardCost.Flops(m, 1, 32) > 32 * ForwardCost.Flops(m, 1, 1) - 32 * perSequence);
    }

    static readonly Tolerance Exact = new(0, 0);

    static double[] D(float[] v) => Array.ConvertAll(v, x => (double)x);

    sealed class SessionScore(ScoreNetworkSession session) : IScoreFunction
    {
        public void Score(ReadOnlySpan<long> tokens, ReadOnlySpan<float> sigma, Span<float> logScore)
        {
            var (y, _) = session.Run(tokens.ToArray(), sigma.ToArray(), tokens.Length / sigma.Length);
            y.CopyTo(logScore);
        }
    }
}
