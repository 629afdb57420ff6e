using Sedd.Runtime.Onnx;
using Sedd.Runtime.Sampling;
using Sedd.Runtime.Tests.Cli;
using Sedd.Runtime.Tests.Onnx;

namespace Sedd.Runtime.Tests.Sampling;

/// <summary>
/// A package exported with model.parameterization=normalized keeps the runtime's contract: its
/// log_score is still what the samplers consume (masked rows: a distribution over the real tokens
/// divided by expm1s σ̄), it samples with both predictors, caches exactly when time-independent, and
/// the CLI runs and describes it.
/// </summary>
public sealed class NormalizedPackageTest : IDisposable
{
    readonly TinyPackage package = TinyPackage.Create(length: 16, timeIndependent: true, parameterization: "normalized");

    public void Dispose() => package.Dispose();

    OnnxScoreNetwork Open() => OnnxScoreNetwork.Open(package.Open(), new OnnxScoreNetworkOptions { Provider = ExecutionProvider.Cpu, Threads = 1 });

    [Fact]
    public void NormalizedPackageTest_MaskedRowsAreADistributionOverExpm1s()
    {
        Assert.Equal("normalized", package.Open().Manifest.Model.Parameterization);
        using var network = Open();
        int length = 16, d = TinyPackage.States;
        float[] sigmas = [1e-5f, 0.02f, 0.7f, 6.9f];
        var tokens = new long[sigmas.Length * length];
        for (int i = 0; i < tokens.Length; i++) tokens[i] = i % 3 == 0 ? i * 17 % TinyPackage.Tokens : TinyPackage.Tokens;
        var score = new float[tokens.Length * d];
        network.Score(tokens, sigmas, score);
        for (int r = 0; r < tokens.Length; r++)
        {
            var row = score.AsSpan(r * d, d);
            Assert.Equal(0f, row[(int)tokens[r]]);
            if (tokens[r] != TinyPackage.Tokens) continue;
            double total = 0;
            foreach (float v in row[..TinyPackage.Tokens]) total += Math.Exp(v);
            double e = SeddMath.Expm1s(sigmas[r / length]);
            Assert.True(Math.Abs(total * e - 1) < 1e-5, $"row {r}: Σ exp(log_score) · expm1s(σ̄) = {total * e:R}");
        }
    }

    [Theory]
    [InlineData(Predictor.Analytic)]
    [InlineData(Predictor.Euler)]
    public void NormalizedPackageTest_SamplesReproduciblyAndCachesExactly(Predictor predictor)
    {
        var m = package.Manifest;
        using var network = Open();
        DiffusionSampler Make(bool cache) => new(m.CreateGraph(), m.CreateNoise(), network, 2, 16, new SamplingOptions { Steps = 64, Predictor = predictor, CacheScores = cache });
        var plain = Make(false);
        var first = plain.Run(5).ToArray();
        Assert.All(first, t => Assert.InRange(t, 0, TinyPackage.Tokens - 1));    // no mask survives the denoiser
        Assert.Equal(first, plain.Run(5).ToArray());
        Assert.NotEqual(first, plain.Run(6).ToArray());
        var caching = Make(true);
        Assert.Equal(first, caching.Run(5).ToArray());
        Assert.True(caching.CachedEvaluations > 0, "a time-independent normalized package must be cached");
    }

    [Fact]
    public void NormalizedPackageTest_CliSamplesAndShowsTheParameterization()
    {
        var info = SeddProcess.Run("info", "--model", package.Folder);
        Assert.True(info.Code == 0, info.ToString());
        Assert.Contains("parameterization normalized", info.Out, StringComparison.Ordinal);
        var sample = SeddProcess.Run("sample", "--model", package.Folder, "--provider", "cpu", "--steps", "8", "--seed", "4", "--keep-eos");
        Assert.True(sample.Code == 0, sample.ToString());
        Assert.True(sample.Out.Trim().Length > 0, sample.ToString());
    }
}
