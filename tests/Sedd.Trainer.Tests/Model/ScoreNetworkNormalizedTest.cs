using Sedd.Runtime;
using Sedd.Runtime.Noise;
using Sedd.Tests;
using Sedd.Trainer.Diffusion;
using Sedd.Trainer.Model;
using TorchSharp;
using static TorchSharp.torch;

namespace Sedd.Trainer.Tests.Model;

/// <summary>
/// model.parameterization=normalized (RADD): at a masked position the real-token scores are a
/// distribution divided by expm1s(σ̄); the unchanged score-entropy loss then reduces to
/// σ'·Σ_masked −ln p(x0)/expm1s(σ̄); the untrained network is the score parameterization's.
/// </summary>
public class ScoreNetworkNormalizedTest
{
    const int V = 50;
    static readonly ModelConfig Tiny = new() { HiddenSize = 32, NHeads = 4, CondDim = 16, NBlocks = 2, Length = 16, Dropout = 0 };

    /// <summary>A network with every parameter redrawn from N(0, scale²) (a fresh one is adaLN-zero: constant output).</summary>
    /// <param name="outputScale">Extra factor on the output projection: large values give logits in the thousands.</param>
    static ScoreNetwork RandomNetwork(ModelConfig config, long seed, double outputScale = 1, ScalarType dtype = ScalarType.Float32)
    {
        var net = new ScoreNetwork(config, V + 1, scaleBySigma: true);
        net.to(dtype);
        using var noGrad = no_grad();
        var g = new Generator((ulong)seed, CPU);
        foreach (var (name, p) in net.named_parameters())
            p.copy_(randn(p.shape, dtype, generator: g) * (name.StartsWith("output_layer.linear", StringComparison.Ordinal) ? 0.5 * outputScale : 0.5));
        net.eval();
        return net;
    }

    static Tensor Indices(int batch, int length, long seed)
    {
        // About half the positions masked, the others random real tokens.
        var g = new Generator((ulong)seed, CPU);
        var tokens = randint(0, V, [batch, length], ScalarType.Int64, generator: g);
        var masked = rand([batch, length], generator: g).lt(0.5);
        return tokens.masked_fill(masked, V);
    }

    [Theory]
    [InlineData(1.0)]
    [InlineData(1000.0)]   // logits in the thousands, beyond exp's float32 range: log_softmax must stay finite and exact
    public void ScoreNetworkNormalizedTest_MaskedScoresSumToOneOverExpm1s(double outputScale)
    {
        using var net = RandomNetwork(Tiny with { Parameterization = "normalized" }, 3, outputScale);
        using var scope = NewDisposeScope();
        double[] sigmas = [1e-5, 1e-3, 0.3, 0.5, 2.0, 6.9];
        var indices = Indices(sigmas.Length, 12, 4);
        Tensor output;
        using (no_grad()) output = net.call(indices, tensor(sigmas).to_type(ScalarType.Float32));
        Assert.True(output.isfinite().all().item<bool>(), "non-finite log-score");
        if (outputScale > 1)
            using (no_grad())
            {
                var twin = new ScoreNetwork(Tiny, V + 1, scaleBySigma: true);   // same weights, score parameterization
                twin.LoadWeights(net.state_dict());
                twin.eval();
                Assert.True(twin.call(indices, tensor(sigmas).to_type(ScalarType.Float32)).abs().max().item<float>() > 100, "the logits are not large");
            }
        var y = output.to_type(ScalarType.Float64).data<double>().ToArray();
        var idx = indices.data<long>().ToArray();
        int checkedRows = 0;
        for (int r = 0; r < idx.Length; r++)
        {
            double e = SeddMath.Expm1s(sigmas[r / 12]);
            var row = y.AsSpan(r * (V + 1), V + 1);
            Assert.Equal(0, row[(int)idx[r]]);                            // spec §5.7 step 2, also at the mask
            if (idx[r] == V)
            {
                double total = 0;
                for (int j = 0; j < V; j++) total += Math.Exp(row[j]);
                Assert.True(Math.Abs(total * e - 1) < 1e-5, $"row {r} (σ̄ {sigmas[r / 12]}): Σ exp(log-score) = {total:R}, expected 1/expm1s = {1 / e:R}");
                checkedRows++;
            }
            else Assert.Equal(-Math.Log(e), row[V], 5);                   // the documented mask column at an unmasked position
        }
        Assert.True(checkedRows >= 10, $"only {checkedRows} masked rows");
    }

    [Fact]
    public void ScoreNetworkNormalizedTest_UntrainedNetworkIsTheScoreParameterizations()
    {
        // adaLN-zero: the output layer emits 0, log_softmax of zeros is −ln V, so both parameterizations give
        // −ln expm1s(σ̄) − ln V off the own token at every masked position; a score package continued as
        // normalized therefore starts from the same function family, not from a different scale.
        using var score = new ScoreNetwork(Tiny, V + 1, scaleBySigma: true);
        using var normalized = new ScoreNetwork(Tiny with { Parameterization = "normalized" }, V + 1, scaleBySigma: true);
        normalized.LoadWeights(score.state_dict());
        using var scope = NewDisposeScope();
        var indices = full(3, 12, V, ScalarType.Int64);
        var sigma = tensor(new float[] { 1e-4f, 0.7f, 5f });
        using var noGrad = no_grad();
        Goldens.AssertClose("untrained", "log_score", ScoreNetworkGoldens.ToDoubles(score.call(indices, sigma)),
            ScoreNetworkGoldens.ToDoubles(normalized.call(indices, sigma)), Tolerance.Float32);
    }

    [Fact]
    public void ScoreNetworkNormalizedTest_LossIsTheClosedForm()
    {
        // At a masked position with ℓ_y = ln p_y − ln E (E = expm1s σ̄, a = 1/E):
        // Σ_y e^{ℓ_y} − a ℓ_{x0} + K(a) = a − a ln p_{x0} + a ln E + a(−ln E − 1) = −ln p_{x0} / E,
        // so loss_b = σ'_b Σ_{masked l} −ln p(x0_l | x_t) / expm1s(σ̄_b): RADD's weighted cross-entropy.
        // p comes from a score-parameterized twin with the same weights (its output + ln E + ln V are the logits).
        using var normalized = RandomNetwork(Tiny with { Parameterization = "normalized" }, 5, dtype: ScalarType.Float64);
        using var twin = new ScoreNetwork(Tiny, V + 1, scaleBySigma: true);
        twin.to(ScalarType.Float64);
        twin.LoadWeights(normalized.state_dict());
        twin.eval();
        var noise = new LogLinearNoise();
        var loss = new ScoreEntropyLoss(new AbsorbingGraph(V), noise, sigmaDtype: ScalarType.Float64);
        using var scope = NewDisposeScope();
        double[] t = [0.001, 0.2, 0.6, 0.999];
        var xt = Indices(t.Length, 10, 6);
        var x0 = xt.where(xt.ne(V), randint(0, V, xt.shape, ScalarType.Int64, generator: new Generator(7, CPU)));
        var r = loss.Compute((x, s) => normalized.call(x, s), x0, t, xt);

        Tensor logits;
        using (no_grad()) logits = twin.call(xt, tensor(Array.ConvertAll(t, noise.TotalNoise)));
        var z = logits.data<double>().ToArray();
        var xs = xt.data<long>().ToArray();
        var targets = x0.data<long>().ToArray();
        var expected = new double[t.Length];
        for (int b = 0; b < t.Length; b++)
        {
            double sigma = noise.TotalNoise(t[b]), e = SeddMath.Expm1s(sigma);
            for (int l = 0; l < 10; l++)
            {
                int row = b * 10 + l;
                if (xs[row] != V) continue;
                // logits_y = twin_y + ln E + ln V; −ln p(x0) = logsumexp(logits) − logits_{x0}
                var logit = Enumerable.Range(0, V).Select(y => z[row * (V + 1) + y] + Math.Log(e) + Math.Log(V)).ToArray();
                double max = logit.Max(), logSumExp = max + Math.Log(logit.Sum(v => Math.Exp(v - max)));
                expected[b] += (logSumExp - logit[targets[row]]) / e;
            }
            expected[b] *= noise.RateNoise(t[b]);
        }
        Assert.All(expected, v => Assert.True(v > 0));
        Goldens.AssertClose("normalized loss", "per_sample", expected, Diffusion.GoldenTensors.Doubles(r.PerSample), new Tolerance(1e-9, 1e-9));
    }

    [Fact]
    public void ScoreNetworkNormalizedTest_RefusedWithoutTheAbsorbingScaling()
    {
        var e = Assert.Throws<SeddException>(() => new ScoreNetwork(Tiny with { Parameterization = "normalized" }, V, scaleBySigma: false));
        Assert.Equal(SeddException.Usage, e.ExitCode);
        Assert.Contains("absorbing graph only", e.Message, StringComparison.Ordinal);
        e = Assert.Throws<SeddException>(() => new ScoreNetwork(Tiny with { Parameterization = "radd" }, V + 1, scaleBySigma: true));
        Assert.Contains("score or normalized", e.Message, StringComparison.Ordinal);
    }
}
