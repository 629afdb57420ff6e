using Sedd.Runtime.Noise;
using Sedd.Tests;
using Sedd.Trainer.Diffusion;
using Xunit.Sdk;
using static Sedd.Trainer.Tests.Diffusion.GoldenTensors;
using static TorchSharp.torch;

namespace Sedd.Trainer.Tests.Diffusion;

/// <summary>
/// loss.json (spec §4.1): every case in float64 and float32, including the gradient of the batch
/// mean with respect to the log-score; plus the statistical sanity value (1 − ε) ln V per token.
/// </summary>
public class ScoreEntropyLossTest
{
    public static TheoryData<string, string> Cases
    {
        get
        {
            var data = new TheoryData<string, string>();
            foreach (var c in Goldens.Cases("loss.json"))
                foreach (var precision in Precisions)
                    data.Add((string)c["name"]!, precision);
            return data;
        }
    }

    [Theory]
    [MemberData(nameof(Cases))]
    public void ScoreEntropyLossTest_Golden(string name, string precision)
    {
        var c = Goldens.Case("loss.json", name);
        var dtype = DtypeOf(precision);
        var tol = ToleranceOf(dtype);
        var label = $"loss.json:{name} ({precision})";
        var p = c["params"]!;
        var input = c["inputs"]!;
        var expected = c["expected"]!;
        using var scope = NewDisposeScope();

        if (name == "training_time_sampling")
        {
            var loss = new ScoreEntropyLoss(new AbsorbingGraph(2), new LogLinearNoise(), p["sampling_eps"]!.GetValue<double>());
            Check(label, expected, "t", loss.SampleTimes(Goldens.Doubles(input["uniforms"]!)), tol);
            return;
        }
        if (!name.StartsWith("dwdse_loss_", StringComparison.Ordinal))
            throw new XunitException($"{label}: unknown case (function {(string?)c["function"]})");

        var graph = GraphOf(p);
        var lossFn = new ScoreEntropyLoss(graph, Noise(p["noise"]!), sigmaDtype: dtype);
        var x0 = Longs(input["x0"]!);
        var xt = Longs(input["xt"]!);
        var t = Goldens.Doubles(input["t"]!);
        Tensor? modelSigma = null;
        Tensor? logScore = null;

        if (name.EndsWith("_at_init", StringComparison.Ordinal))
        {
            // The untrained absorb network's output (spec §5.9) stands in for the model.
            var result = lossFn.Compute((x, sigma) => logScore = UntrainedAbsorbLogScore(x, Graph.HostValues(sigma), graph.Vocab, dtype), x0, t, xt);
            Check(label, expected, "log_score", logScore!, tol);
            Check(label, expected, "per_sample_loss", result.PerSample, tol);
            return;
        }

        logScore = Floats(input["log_score"]!, dtype).requires_grad_();
        var r = lossFn.Compute((x, sigma) =>
        {
            Assert.Equal(LongValues(xt), LongValues(x));
            modelSigma = sigma;
            return logScore;
        }, x0, t, xt);

        Check(label, expected, "sigma", r.Sigma, Tolerance.Float64);
        Check(label, expected, "dsigma", r.DSigma, Tolerance.Float64);
        Assert.Equal(dtype, modelSigma!.dtype);
        Check(label, expected, "sigma", modelSigma, tol);
        Check(label, expected, "score_entropy", r.ScoreEntropy, tol);
        Check(label, expected, "per_sample_loss", r.PerSample, tol);
        var batchMean = r.PerSample.mean();
        Goldens.AssertClose(label, "batch_mean_loss", [expected["batch_mean_loss"]!.GetValue<double>()], [batchMean.to_type(ScalarType.Float64).item<double>()], tol);
        batchMean.backward();
        Check(label, expected, "grad_batch_mean_wrt_log_score", logScore.grad!, tol);
    }

    [Fact]
    public void ScoreEntropyLossTest_UntrainedAbsorbModelGivesOneMinusEpsLnVPerToken()
    {
        // Spec §4.1 sanity value. Given t, a masked position contributes σ' ln V/(e^σ̄ − 1) and is
        // masked with probability p = (1 − ε)t, so E[loss per token] = (1 − ε) ln V exactly, for
        // every t. The per-sequence loss given t is c·Binomial(L, p) with c = (1 − ε) ln V / p, so
        // Var(mean per token) = ((1 − ε) ln V)² E_t[(1 − p)/p] / (sequences · L), and with
        // t ~ U[δ, 1]: E_t[(1 − p)/p] = ln(1/δ) / ((1 − ε)(1 − δ)) − 1.
        const long V = 100;
        const int batches = 8, B = 2048, L = 32;
        var noise = new LogLinearNoise();
        var graph = new AbsorbingGraph(V);
        var lossFn = new ScoreEntropyLoss(graph, noise);
        using var generator = new Generator(20240601, CPU);
        var x0Generator = new Generator(5, CPU);
        double total = 0;
        for (int k = 0; k < batches; k++)
        {
            using var scope = NewDisposeScope();
            var x0 = randint(0, V, [B, L], ScalarType.Int64, generator: x0Generator);
            var r = lossFn.Compute((x, sigma) => UntrainedAbsorbLogScore(x, Graph.HostValues(sigma), V, ScalarType.Float32), x0, generator);
            Assert.Equal(ScalarType.Float32, r.PerSample.dtype);
            total += r.PerSample.to_type(ScalarType.Float64).sum().item<double>();
        }
        double tokens = (double)batches * B * L;
        double mean = total / tokens;
        double expected = ScoreEntropyLoss.UntrainedLossPerToken(V, noise.Eps);
        double delta = lossFn.SamplingEps, eps = noise.Eps;
        double spread = Math.Log(1 / delta) / ((1 - eps) * (1 - delta)) - 1;
        double sd = expected * Math.Sqrt(spread / tokens);
        Assert.True(Math.Abs(mean - expected) < 5 * sd, $"mean loss per token {mean} vs (1−ε) ln V = {expected} ± {5 * sd} (5 sd)");
    }

    [Fact]
    public void ScoreEntropyLossTest_GeneratorDrivesEveryDraw()
    {
        // Same seed → same t, x_t and loss; another seed → another draw. The global RNG is not used.
        var graph = new UniformGraph(13);
        var lossFn = new ScoreEntropyLoss(graph, new GeometricNoise(1e-4, 20), sigmaDtype: ScalarType.Float64);
        using var scope = NewDisposeScope();
        var x0 = randint(0, 13, [4, 9], ScalarType.Int64, generator: new Generator(1, CPU));
        var logScore = randn([4, 9, 13], ScalarType.Float64, generator: new Generator(2, CPU));
        LossResult Run(ulong seed)
        {
            using var g = new Generator(seed, CPU);
            return lossFn.Compute((x, s) => logScore, x0, g);
        }
        var a = Run(99);
        manual_seed(12345);
        var b = Run(99);
        var other = Run(100);
        Assert.Equal(a.Time, b.Time);
        Assert.Equal(LongValues(a.NoisyTokens), LongValues(b.NoisyTokens));
        Assert.Equal(Doubles(a.PerSample), Doubles(b.PerSample));
        Assert.NotEqual(a.Time, other.Time);
        Assert.All(a.Time, t => Assert.InRange(t, lossFn.SamplingEps, 1));
        // Per-sequence loss is σ'_b times the SUM over positions (spec §4.1 step 6).
        var sums = Doubles(a.ScoreEntropy.sum(-1));
        Goldens.AssertClose("generator run", "per_sample", Enumerable.Range(0, 4).Select(i => a.DSigma[i] * sums[i]).ToArray(), Doubles(a.PerSample), Tolerance.Float64);
    }
}
