using Sedd.Runtime;
using Sedd.Runtime.Noise;
using Sedd.Trainer.Diffusion;
using static Sedd.Trainer.Tests.Diffusion.GoldenTensors;
using static TorchSharp.torch;

namespace Sedd.Trainer.Tests.Diffusion;

/// <summary>
/// training.time_sampling: "uniform" is SEDD's i.i.d. draw, unchanged; "stratified" puts exactly one
/// u_b in each [k/B, (k + 1)/B), keeps every t_b uniform (so the loss stays unbiased) and lowers the
/// variance of the batch-mean loss.
/// </summary>
public class TimeSamplingTest
{
    [Fact]
    public void TimeSamplingTest_UniformReproducesSeddsDrawsExactly()
    {
        // Before the option existed the loss drew B float64 uniforms, mapped them to t, then noised x0 from
        // the same generator. The default must consume the generator the same way, value for value.
        var graph = new AbsorbingGraph(11);
        var loss = new ScoreEntropyLoss(graph, new LogLinearNoise(), sigmaDtype: ScalarType.Float64);
        using var scope = NewDisposeScope();
        var x0 = randint(0, 11, [6, 9], ScalarType.Int64, generator: new Generator(3, CPU));
        var logScore = randn([6, 9, 12], ScalarType.Float64, generator: new Generator(4, CPU));
        using var g = new Generator(2024, CPU);
        var r = loss.Compute((x, s) => logScore, x0, g);

        using var replay = new Generator(2024, CPU);
        var u = Graph.HostValues(rand(6, ScalarType.Float64, CPU, generator: replay));
        var t = loss.SampleTimes(u);
        var xt = graph.SampleTransition(x0, Array.ConvertAll(t, loss.Noise.TotalNoise), replay);
        Assert.Equal(t, r.Time);
        Assert.Equal(LongValues(xt), LongValues(r.NoisyTokens));
        Assert.Equal(Doubles(loss.Compute((x, s) => logScore, x0, t, xt).PerSample), Doubles(r.PerSample));
        Assert.Equal(TimeSampling.Uniform, TimeSamplings.Parse("uniform"));
    }

    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    [InlineData(7)]
    [InlineData(32)]
    public void TimeSamplingTest_StratifiedPutsOneDrawInEachStratum(int batch)
    {
        // Edge values of u0 first, then draws from a generator (one double per batch).
        double[] edges = [0, 1 - Math.Pow(2, -53), 0.5, 1.0 / (batch + 1), (batch - 1.0) / batch];
        using var g = new Generator(99, CPU);
        var loss = new ScoreEntropyLoss(new AbsorbingGraph(5), new LogLinearNoise());
        for (int trial = 0; trial < edges.Length + 200; trial++)
        {
            var u = trial < edges.Length ? TimeSamplings.Stratify(edges[trial], batch) : ScoreEntropyLoss.DrawTimeUniforms(batch, g, TimeSampling.Stratified);
            Assert.All(u, v => Assert.True(v >= 0 && v < 1, $"u = {v:R} outside [0, 1)"));
            // Each stratum holds one u_b: the sorted values are exactly 1/B apart (to rounding).
            var sorted = u.Order().ToArray();
            for (int k = 1; k < batch; k++)
                Assert.True(Math.Abs(sorted[k] - sorted[k - 1] - 1.0 / batch) < 1e-12, $"B = {batch}: gap {sorted[k] - sorted[k - 1]:R} between sorted draws {k - 1} and {k}, expected 1/B");
            var strata = u.Select(v => Math.Min(batch - 1, (int)Math.Floor(v * batch + 1e-9))).Order().ToArray();
            if (u.All(v => Math.Abs(v * batch - Math.Round(v * batch)) > 1e-9)) Assert.Equal(Enumerable.Range(0, batch), strata);
            // t spans at most (1 − ε)(1 − 1/B), and its sorted values are (1 − ε)/B apart.
            var t = loss.SampleTimes(u).Order().ToArray();
            Assert.True(t[^1] - t[0] <= (1 - loss.SamplingEps) * (1 - 1.0 / batch) + 1e-12);
            Assert.All(t, v => Assert.InRange(v, loss.SamplingEps, 1));
        }
    }

    [Fact]
    public void TimeSamplingTest_StratifiedConsumesOneUniformPerBatch()
    {
        using var a = new Generator(5, CPU);
        using var b = new Generator(5, CPU);
        var u = ScoreEntropyLoss.DrawTimeUniforms(8, a, TimeSampling.Stratified);
        double u0 = Graph.HostValues(rand(1, ScalarType.Float64, CPU, generator: b))[0];
        Assert.Equal(TimeSamplings.Stratify(u0, 8), u);
        // Both generators stand at the same place afterwards: the noising draws follow directly.
        Assert.Equal(Graph.HostValues(rand(4, ScalarType.Float64, CPU, generator: b)), Graph.HostValues(rand(4, ScalarType.Float64, CPU, generator: a)));
        var e = Assert.Throws<SeddException>(() => TimeSamplings.Parse("sobol"));
        Assert.Equal(SeddException.Usage, e.ExitCode);
        Assert.Contains("training.time_sampling", e.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(4)]
    [InlineData(16)]
    public void TimeSamplingTest_StratifiedBatchMeanOfTIsBTimesLessNoisy(int batch)
    {
        // t is affine in u. The mean of B i.i.d. uniforms has variance 1/(12B); the stratified mean is
        // ((B − 1)/2 + r)/B with r = frac(B u0) uniform, so its variance is 1/(12B²): B times smaller.
        const int Batches = 20_000;
        var loss = new ScoreEntropyLoss(new AbsorbingGraph(5), new LogLinearNoise());
        double Variance(TimeSampling sampling)
        {
            using var g = new Generator(31, CPU);
            var means = new double[Batches];
            for (int i = 0; i < Batches; i++) means[i] = loss.SampleTimes(ScoreEntropyLoss.DrawTimeUniforms(batch, g, sampling)).Average();
            double mean = means.Average();
            return means.Sum(m => (m - mean) * (m - mean)) / (Batches - 1);
        }
        double scale = (1 - loss.SamplingEps) * (1 - loss.SamplingEps) / 12;
        double uniform = Variance(TimeSampling.Uniform), stratified = Variance(TimeSampling.Stratified);
        // 20,000 batches: the variance estimates are within ±5 % (4 s.e.) of their expectation.
        Assert.InRange(uniform / (scale / batch), 0.95, 1.05);
        Assert.InRange(stratified / (scale / batch / batch), 0.95, 1.05);
    }

    [Fact]
    public void TimeSamplingTest_StratifiedLossIsUnbiased()
    {
        // A toy "network" whose log-score is the constant c makes the loss depend strongly on t (weights
        // σ'(t), ratio a(t) = 1/expm1(σ̄(t))), so a biased draw of t shows. Its expectation over t and the
        // masking is a 1-D integral: with s = σ̄(t), σ'(t) dt = ds and P(masked) = 1 − e^{−s},
        // E[loss_b] = 1/(1 − δ) ∫_{σ̄(δ)}^{σ̄(1)} L (1 − e^{−s}) (V e^c − a c + K(a)) ds,  a = 1/(e^s − 1).
        const int V = 10, L = 8, B = 16, Batches = 1500;
        double c = -Math.Log(V) - 0.5;
        var noise = new LogLinearNoise();
        var loss = new ScoreEntropyLoss(new AbsorbingGraph(V), noise, sigmaDtype: ScalarType.Float64);
        double exact = ExpectedToyLoss(noise, loss.SamplingEps, V, L, c);

        (double Mean, double StandardError, double Variance) Run(TimeSampling sampling, ulong seed)
        {
            using var g = new Generator(seed, CPU);
            var x0Generator = new Generator(seed + 1, CPU);
            var means = new double[Batches];
            for (int i = 0; i < Batches; i++)
            {
                using var scope = NewDisposeScope();
                var x0 = randint(0, V, [B, L], ScalarType.Int64, generator: x0Generator);
                var r = loss.Compute((x, s) => full([x.shape[0], x.shape[1], V + 1], c, ScalarType.Float64), x0, g, sampling);
                means[i] = r.PerSample.mean().item<double>();
            }
            double mean = means.Average(), variance = means.Sum(m => (m - mean) * (m - mean)) / (Batches - 1);
            return (mean, Math.Sqrt(variance / Batches), variance);
        }
        var uniform = Run(TimeSampling.Uniform, 11);
        var stratified = Run(TimeSampling.Stratified, 12);
        foreach (var (name, r) in new[] { ("uniform", uniform), ("stratified", stratified) })
            Assert.True(Math.Abs(r.Mean - exact) < 4 * r.StandardError,
                $"{name}: mean batch loss {r.Mean:F4} vs the exact expectation {exact:F4}; 4 s.e. = {4 * r.StandardError:F4}");
        Assert.True(Math.Abs(stratified.Mean - uniform.Mean) < 4 * Math.Sqrt(uniform.StandardError * uniform.StandardError + stratified.StandardError * stratified.StandardError),
            $"stratified {stratified.Mean:F4} and uniform {uniform.Mean:F4} disagree");
        // Stratifying t removes only the part of the variance that comes from t; here the masking draws and the
        // σ' → 1/ε spike near t = 1 (inside one stratum) dominate, so the measured gain is modest (≈ 20 %).
        Assert.True(stratified.Variance < 1.1 * uniform.Variance,
            $"variance of the batch-mean loss: stratified {stratified.Variance:G4}, uniform {uniform.Variance:G4}");
    }

    /// <summary>The toy's exact expected per-sequence loss by Simpson's rule in s = σ̄ (smooth on [σ̄(δ), σ̄(1)]).</summary>
    static double ExpectedToyLoss(NoiseSchedule noise, double delta, int v, int length, double c)
    {
        double lo = noise.TotalNoise(delta), hi = noise.TotalNoise(1);
        double F(double s)
        {
            double a = 1 / SeddMath.Expm1(s);
            return length * -SeddMath.Expm1(-s) * (v * Math.Exp(c) - a * c + SeddMath.K(a));
        }
        const int n = 200_000;
        double h = (hi - lo) / n, sum = F(lo) + F(hi);
        for (int i = 1; i < n; i++) sum += (i % 2 == 1 ? 4 : 2) * F(lo + i * h);
        return sum * h / 3 / (1 - delta);
    }
}
