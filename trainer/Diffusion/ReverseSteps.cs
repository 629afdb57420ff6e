using Sedd.Runtime.Noise;
using static TorchSharp.torch;

namespace Sedd.Trainer.Diffusion;

/// <summary>
/// Tensor versions of the reverse-time sampler pieces (SEDD sampling.py and catsample.py; spec §6):
/// the time grid, the unnormalised transition weights of the Euler, analytic and denoising steps,
/// and the exponential-race categorical draw. The trainer uses them for snapshots; the runtime has
/// its own span-based sampler, and the tests hold both against sampler_step.json.
/// </summary>
public static class ReverseSteps
{
    /// <summary>
    /// τ = linspace(1, eps, steps + 1) and Δt = (1 − eps)/steps (spec §6.1), evaluated like
    /// torch.linspace (from the start in the first half, from the end in the second).
    /// </summary>
    /// <param name="steps">Number of predictor steps (≥ 1).</param>
    /// <param name="eps">Last time (SEDD default 1e-5).</param>
    public static (double[] Times, double Dt) TimeGrid(int steps, double eps)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(steps, 1);
        var times = new double[steps + 1];
        double step = (eps - 1.0) / steps;
        int half = (steps + 1) / 2;
        for (int k = 0; k <= steps; k++)
            times[k] = k < half ? 1.0 + step * k : eps - step * (steps - k);
        return (times, (1 - eps) / steps);
    }

    /// <summary>
    /// Euler (τ-leaping) weights, spec §6.3: p = e_x + Δt σ'(t_b) · reverse_rate(x, s).
    /// </summary>
    /// <param name="graph">Forward process.</param>
    /// <param name="noise">Schedule (σ' in double).</param>
    /// <param name="x">Current tokens <c>[B,L]</c>.</param>
    /// <param name="score">Ratios s = exp(model(x, σ̄(t))) <c>[B,L,D]</c>.</param>
    /// <param name="t">Time per sequence.</param>
    /// <param name="dt">Step size Δt.</param>
    public static Tensor EulerProbs(Graph graph, NoiseSchedule noise, Tensor x, Tensor score, ReadOnlySpan<double> t, double dt)
    {
        ArgumentNullException.ThrowIfNull(graph);
        ArgumentNullException.ThrowIfNull(noise);
        ArgumentNullException.ThrowIfNull(x);
        ArgumentNullException.ThrowIfNull(score);
        var scale = new double[t.Length];
        for (int b = 0; b < scale.Length; b++) scale[b] = dt * noise.RateNoise(t[b]);
        using var scope = NewDisposeScope();
        var probs = graph.ReverseRate(x, score).mul_(tensor(scale, [scale.Length, 1, 1], score.dtype, score.device));
        var index = x.unsqueeze(-1);
        probs.scatter_add_(-1, index, ones(index.shape, score.dtype, score.device));
        return probs.MoveToOuterDisposeScope();
    }

    /// <summary>
    /// Analytic (Tweedie) weights, spec §6.4: with Δσ_b = σ̄(t_b) − σ̄(t_b − Δt),
    /// p = staggered_score(s, Δσ) ⊙ transp_transition(x, Δσ).
    /// </summary>
    /// <param name="graph">Forward process.</param>
    /// <param name="noise">Schedule (σ̄ in double).</param>
    /// <param name="x">Current tokens <c>[B,L]</c>.</param>
    /// <param name="score">Ratios s = exp(model(x, σ̄(t))) <c>[B,L,D]</c>.</param>
    /// <param name="t">Time per sequence.</param>
    /// <param name="dt">Step size Δt.</param>
    public static Tensor AnalyticProbs(Graph graph, NoiseSchedule noise, Tensor x, Tensor score, ReadOnlySpan<double> t, double dt)
    {
        ArgumentNullException.ThrowIfNull(noise);
        var dsigma = new double[t.Length];
        for (int b = 0; b < dsigma.Length; b++) dsigma[b] = noise.TotalNoise(t[b]) - noise.TotalNoise(t[b] - dt);
        return TweedieProbs(graph, x, score, dsigma);
    }

    /// <summary>
    /// Final denoising weights, spec §6.5: staggered_score(s, σ̄(t)) ⊙ transp_transition(x, σ̄(t)),
    /// with the mask column dropped for the absorbing graph (D − 1 columns then).
    /// </summary>
    /// <param name="graph">Forward process.</param>
    /// <param name="noise">Schedule (σ̄ in double).</param>
    /// <param name="x">Current tokens <c>[B,L]</c>.</param>
    /// <param name="score">Ratios s = exp(model(x, σ̄(t))) <c>[B,L,D]</c>.</param>
    /// <param name="t">Time per sequence (the sampler's eps).</param>
    public static Tensor DenoiseProbs(Graph graph, NoiseSchedule noise, Tensor x, Tensor score, ReadOnlySpan<double> t)
    {
        ArgumentNullException.ThrowIfNull(graph);
        ArgumentNullException.ThrowIfNull(noise);
        var sigma = new double[t.Length];
        for (int b = 0; b < sigma.Length; b++) sigma[b] = noise.TotalNoise(t[b]);
        var probs = TweedieProbs(graph, x, score, sigma);
        if (!graph.IsAbsorbing) return probs;
        using var full = probs;
        return full.narrow(-1, 0, graph.Dim - 1).contiguous();
    }

    /// <summary>
    /// Exponential race (SEDD catsample.sample_categorical; spec §6.2):
    /// argmax_k p_k / (1e-10 − ln(U_k + 1e-10)). Samples k ∝ p_k for non-negative weights without
    /// normalising; zero and negative weights lose to any positive one. Ties go to the lower index.
    /// </summary>
    /// <param name="probs">Unnormalised weights <c>[..., K]</c>.</param>
    /// <param name="uniforms">U[0,1) of the same shape, one per candidate.</param>
    public static Tensor CategoricalSample(Tensor probs, Tensor uniforms)
    {
        ArgumentNullException.ThrowIfNull(probs);
        ArgumentNullException.ThrowIfNull(uniforms);
        using var scope = NewDisposeScope();
        var race = uniforms.add(1e-10).log_().neg_().add_(1e-10);                  // Exp(1) variates
        return probs.div(race).argmax(-1).MoveToOuterDisposeScope();
    }

    /// <summary>
    /// <see cref="CategoricalSample(Tensor, Tensor)"/> with uniforms (probs' dtype) drawn from
    /// <paramref name="generator"/>.
    /// </summary>
    /// <param name="probs">Unnormalised weights <c>[..., K]</c>.</param>
    /// <param name="generator">Seeded generator.</param>
    public static Tensor CategoricalSample(Tensor probs, Generator generator)
    {
        ArgumentNullException.ThrowIfNull(probs);
        ArgumentNullException.ThrowIfNull(generator);
        using var scope = NewDisposeScope();
        var uniforms = rand(probs.shape, probs.dtype, generator.device, generator: generator).to(probs.device);
        return CategoricalSample(probs, uniforms).MoveToOuterDisposeScope();
    }

    static Tensor TweedieProbs(Graph graph, Tensor x, Tensor score, double[] dsigma)
    {
        ArgumentNullException.ThrowIfNull(graph);
        ArgumentNullException.ThrowIfNull(score);
        using var scope = NewDisposeScope();
        var probs = graph.StaggeredScore(score, dsigma).mul_(graph.TransposedTransition(x, dsigma, score.dtype));
        return probs.MoveToOuterDisposeScope();
    }
}
