using Sedd.Runtime.Noise;
using static TorchSharp.torch;

namespace Sedd.Trainer.Diffusion;

/// <summary>
/// One evaluation of the diffusion-weighted denoising score entropy (spec §4.1).
/// </summary>
/// <param name="PerSample">loss_b = σ'_b Σ_l SE[b,l], shape <c>[B]</c>, in the log-score's dtype; differentiable.</param>
/// <param name="ScoreEntropy">SE[b,l], shape <c>[B,L]</c>.</param>
/// <param name="NoisyTokens">x_t the model saw, int64 <c>[B,L]</c>.</param>
/// <param name="Time">t_b per sequence.</param>
/// <param name="Sigma">σ̄(t_b) per sequence.</param>
/// <param name="DSigma">σ'(t_b) per sequence.</param>
public sealed record LossResult(Tensor PerSample, Tensor ScoreEntropy, Tensor NoisyTokens, double[] Time, double[] Sigma, double[] DSigma);

/// <summary>
/// The training objective of SEDD (losses.get_loss_fn; spec §4.1): draw t per sequence, noise x0
/// to x_t with the graph, evaluate the model at (x_t, σ̄(t)) and weight the summed per-position
/// score entropy by σ'(t). Returns per-sequence losses; the caller takes the batch mean (divided by
/// the number of accumulation steps when accumulating). Per-sequence scalars stay in double.
/// </summary>
/// <param name="graph">Forward process.</param>
/// <param name="noise">Noise schedule σ̄(t), σ'(t).</param>
/// <param name="samplingEps">Lower end of the training time interval (SEDD: 1e-3).</param>
/// <param name="sigmaDtype">Dtype of the σ̄ tensor handed to the model (float32 normally; float64 for golden checks).</param>
public sealed class ScoreEntropyLoss(Graph graph, NoiseSchedule noise, double samplingEps = 1e-3, ScalarType sigmaDtype = ScalarType.Float32)
{
    /// <summary>The forward process.</summary>
    public Graph Graph { get; } = graph ?? throw new ArgumentNullException(nameof(graph));

    /// <summary>The noise schedule.</summary>
    public NoiseSchedule Noise { get; } = noise ?? throw new ArgumentNullException(nameof(noise));

    /// <summary>t is drawn from [ε, 1) with this ε (SEDD sampling_eps = 1e-3).</summary>
    public double SamplingEps { get; } = samplingEps;

    /// <summary>
    /// Full training evaluation with randomness from <paramref name="generator"/>: the time uniforms
    /// first (<see cref="DrawTimeUniforms"/>), then the graph's transition draws (see
    /// <see cref="Graph.SampleTransition(Tensor, ReadOnlySpan{double}, Generator)"/>).
    /// </summary>
    /// <param name="model">(x_t int64 [B,L], σ̄ [B]) → log-score [B,L,D].</param>
    /// <param name="x0">Clean sequences, int64 <c>[B,L]</c>.</param>
    /// <param name="generator">Seeded generator; the global RNG is never used.</param>
    /// <param name="timeSampling">How t is drawn across the batch (default: i.i.d. uniform, SEDD's).</param>
    public LossResult Compute(Func<Tensor, Tensor, Tensor> model, Tensor x0, Generator generator, TimeSampling timeSampling = TimeSampling.Uniform)
    {
        ArgumentNullException.ThrowIfNull(x0);
        ArgumentNullException.ThrowIfNull(generator);
        var t = SampleTimes(DrawTimeUniforms(checked((int)x0.shape[0]), generator, timeSampling));
        var xt = Graph.SampleTransition(x0, Sigmas(t), generator);
        return Compute(model, x0, t, xt);
    }

    /// <summary>
    /// The u_b of one batch from <paramref name="generator"/>: <see cref="TimeSampling.Uniform"/> takes B
    /// float64 uniforms in one call (SEDD's draw); <see cref="TimeSampling.Stratified"/> takes one float64
    /// uniform u0 and returns <see cref="TimeSamplings.Stratify"/>(u0, B).
    /// </summary>
    /// <param name="batch">B.</param>
    /// <param name="generator">Seeded generator.</param>
    /// <param name="timeSampling">Uniform or stratified.</param>
    public static double[] DrawTimeUniforms(int batch, Generator generator, TimeSampling timeSampling)
    {
        ArgumentNullException.ThrowIfNull(generator);
        int draws = timeSampling == TimeSampling.Stratified ? 1 : batch;
        double[] u;
        using (var values = rand(draws, ScalarType.Float64, generator.device, generator: generator))
            u = Graph.HostValues(values);
        return timeSampling == TimeSampling.Stratified ? TimeSamplings.Stratify(u[0], batch) : u;
    }

    /// <summary>
    /// Training evaluation with injected randomness (tests): time uniforms u_b, transition uniforms
    /// <c>[B,L]</c> and, for the uniform graph, replacement tokens <c>[B,L]</c>.
    /// </summary>
    /// <param name="model">(x_t, σ̄ [B]) → log-score.</param>
    /// <param name="x0">Clean sequences, int64 <c>[B,L]</c>.</param>
    /// <param name="timeUniforms">u_b ∈ [0,1), one per sequence.</param>
    /// <param name="transitionUniforms">U[0,1) draws <c>[B,L]</c> for the forward noising.</param>
    /// <param name="randomTokens">Replacement tokens <c>[B,L]</c> (uniform graph only).</param>
    public LossResult Compute(Func<Tensor, Tensor, Tensor> model, Tensor x0, ReadOnlySpan<double> timeUniforms, Tensor transitionUniforms, Tensor? randomTokens = null)
    {
        var t = SampleTimes(timeUniforms);
        var xt = Graph.SampleTransition(x0, Sigmas(t), transitionUniforms, randomTokens);
        return Compute(model, x0, t, xt);
    }

    /// <summary>
    /// The loss at given times and noisy tokens (SEDD loss_fn with t and perturbed_batch given;
    /// used by loss.json, model_forward's training_check and likelihood evaluation).
    /// </summary>
    /// <param name="model">(x_t, σ̄ [B]) → log-score [B,L,D].</param>
    /// <param name="x0">Clean sequences, int64 <c>[B,L]</c>.</param>
    /// <param name="t">Time per sequence.</param>
    /// <param name="xt">Noisy sequences, int64 <c>[B,L]</c>.</param>
    public LossResult Compute(Func<Tensor, Tensor, Tensor> model, Tensor x0, ReadOnlySpan<double> t, Tensor xt)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(x0);
        ArgumentNullException.ThrowIfNull(xt);
        if (t.Length != x0.shape[0])
            throw new ArgumentException($"expected one time per sequence ({x0.shape[0]}), got {t.Length}", nameof(t));
        var time = t.ToArray();
        var sigma = Sigmas(time);
        var dsigma = Array.ConvertAll(time, Noise.RateNoise);

        // No dispose scope here: the model's input and output belong to the caller's step scope.
        var logScore = model(xt, tensor(sigma, sigmaDtype, xt.device));
        var entropy = Graph.ScoreEntropy(logScore, sigma, xt, x0);                       // [B,L]
        var weight = tensor(dsigma, entropy.dtype, entropy.device);                     // σ'_b
        var perSample = entropy.sum(-1).mul(weight);                                     // a sum over positions
        return new LossResult(perSample, entropy, xt, time, sigma, dsigma);
    }

    /// <summary>t_b = (1 − ε) u_b + ε (spec §4.1 step 1), in double.</summary>
    /// <param name="uniforms">u_b ∈ [0,1).</param>
    public double[] SampleTimes(ReadOnlySpan<double> uniforms)
    {
        var t = new double[uniforms.Length];
        for (int b = 0; b < t.Length; b++) t[b] = (1 - SamplingEps) * uniforms[b] + SamplingEps;
        return t;
    }

    /// <summary>
    /// Expected loss per token of an untrained absorb model (spec §4.1 sanity value): (1 − ε) ln V,
    /// with ε the log-linear schedule's ε, for every t. ≈ 10.814 for GPT-2's V = 50257.
    /// </summary>
    /// <param name="realTokens">V.</param>
    /// <param name="eps">Log-linear ε (1e-3).</param>
    public static double UntrainedLossPerToken(long realTokens, double eps = 1e-3) => (1 - eps) * Math.Log(realTokens);

    double[] Sigmas(double[] t) => Array.ConvertAll(t, Noise.TotalNoise);
}
