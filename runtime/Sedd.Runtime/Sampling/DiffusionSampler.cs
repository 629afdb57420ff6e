using Sedd.Runtime.Noise;

namespace Sedd.Runtime.Sampling;

/// <summary>
/// The reverse-time sampler (SEDD sampling.get_pc_sampler; spec §6.1) on the host, framework-free:
/// <code>
/// x ← sample_limit
/// for i = 0 … steps−1:  x ← projector(x);  x ← predictor(x, τ_i, Δt)
/// if denoise:           x ← projector(x);  x ← denoiser(x, eps)
/// return projector(x)
/// </code>
/// One network evaluation per predictor step and one for the denoiser. All buffers (tokens, the
/// [B, L, D] log-score, per-worker double rows) are allocated once in the constructor; a step
/// allocates nothing in steady state, with one thread or several (a fixed team of row workers,
/// <see cref="RowWorkers"/>, stopped when the sampler is collected).
/// </summary>
/// <remarks>
/// Only positions that can change are drawn: for absorb the masked ones (real tokens have weight
/// e_x in every step, spec §6.3–6.5), and never the positions the projector fixes (they are
/// re-imposed before the model sees them). Row r = b·L + l of step i draws from the stream
/// (seed, i, r) (the denoiser uses i = steps), so a run is reproducible from its seed whatever the
/// thread count.
/// <para>
/// A network that implements <see cref="IBindableScoreFunction"/> receives the sampler's buffers once,
/// from the constructor, and writes its output in place. A time-independent network
/// (<see cref="IScoreFunctionTraits"/>) is not called again while the tokens stay the same; the cached
/// output is shifted to the new noise level in double inside the row pipeline (spec §5.7), so
/// <see cref="NetworkEvaluations"/> counts real calls and <see cref="CachedEvaluations"/> saved ones.
/// </para>
/// </remarks>
public sealed partial class DiffusionSampler
{
    readonly SamplingGraph graph;
    readonly NoiseSchedule schedule;
    readonly IScoreFunction model;
    readonly InfillProjector projector;
    readonly CategoricalSampler sampler;
    readonly long[] tokens;
    readonly float[] sigma;
    readonly float[] logScore;
    readonly double[] timesteps;
    readonly bool[] fixedPosition;
    readonly long[] evaluatedTokens;
    readonly bool caching;
    readonly bool scaleBySigma;
    bool cacheValid;
    double evaluatedSigma;
    long networkTicks;
    long stepTicks;

    /// <summary>Prepares a sampler and allocates every buffer it will use.</summary>
    /// <param name="graph">Sampling graph matching the model (its <see cref="SamplingGraph.Dimension"/> is the model's output width D).</param>
    /// <param name="schedule">Noise schedule the model was trained with.</param>
    /// <param name="model">Score network.</param>
    /// <param name="batch">Sequences per run, B ≥ 1.</param>
    /// <param name="length">Sequence length, L ≥ 1.</param>
    /// <param name="options">Predictor, steps, eps, denoise, threads (defaults: <see cref="SamplingOptions"/>).</param>
    /// <param name="projector">Conditioning (default none).</param>
    /// <param name="sampler">Categorical draw (default <see cref="InverseCdfSampler"/>).</param>
    public DiffusionSampler(SamplingGraph graph, NoiseSchedule schedule, IScoreFunction model, int batch, int length,
        SamplingOptions? options = null, InfillProjector? projector = null, CategoricalSampler? sampler = null)
    {
        ArgumentNullException.ThrowIfNull(graph);
        ArgumentNullException.ThrowIfNull(schedule);
        ArgumentNullException.ThrowIfNull(model);
        Options = options ?? new SamplingOptions();
        Options.Validate();
        if (batch < 1 || length < 1)
            throw new SeddException($"sampling needs batch ≥ 1 and length ≥ 1, got batch {batch} and length {length}", SeddException.Usage);
        long scoreLength = (long)batch * length * graph.Dimension;
        if (scoreLength > Array.MaxLength)
            throw new SeddException($"a batch of {batch} × {length} positions × {graph.Dimension} states ({scoreLength} log-scores) exceeds one buffer; use a smaller batch", SeddException.Usage);
        this.projector = projector ?? InfillProjector.None;
        this.projector.Validate(length, graph);

        this.graph = graph;
        this.schedule = schedule;
        this.model = model;
        this.sampler = sampler ?? new InverseCdfSampler();
        Batch = batch;
        Length = length;
        tokens = new long[batch * length];
        sigma = new float[batch];
        logScore = new float[scoreLength];
        timesteps = new double[Options.Steps + 1];
        TimeGrid.Fill(timesteps, Options.Eps);
        StepSize = TimeGrid.StepSize(Options.Steps, Options.Eps);
        fixedPosition = new bool[length];
        foreach (int p in this.projector.Positions) fixedPosition[p] = true;
        InitializeRows(Options.Threads == 0 ? Environment.ProcessorCount : Options.Threads);
        var traits = model as IScoreFunctionTraits;
        caching = Options.CacheScores && traits is { TimeIndependent: true };
        scaleBySigma = traits is { ScaleBySigma: true };
        evaluatedTokens = caching ? new long[tokens.Length] : [];
        (model as IBindableScoreFunction)?.Bind(tokens, sigma, logScore, batch, length);
    }

    /// <summary>Sequences per run, B.</summary>
    public int Batch { get; }

    /// <summary>Sequence length, L.</summary>
    public int Length { get; }

    /// <summary>The settings this sampler was built with.</summary>
    public SamplingOptions Options { get; }

    /// <summary>The graph being sampled.</summary>
    public SamplingGraph Graph => graph;

    /// <summary>
    /// The current batch, row-major [B, L]. After <see cref="Run"/> it holds the samples. Callers that
    /// drive the steps themselves may overwrite it between steps (e.g. to replay a reference run).
    /// </summary>
    public Span<long> Tokens => tokens;

    /// <summary>τ_0 = 1 … τ_steps = eps (spec §6.1).</summary>
    public ReadOnlySpan<double> Timesteps => timesteps;

    /// <summary>Δt = (1 − eps) / steps.</summary>
    public double StepSize { get; }

    /// <summary>Network calls actually made since the last <see cref="Reset"/> (steps, plus one if denoising, minus <see cref="CachedEvaluations"/>).</summary>
    public int NetworkEvaluations { get; private set; }

    /// <summary>Network calls saved by exact caching since the last <see cref="Reset"/>.</summary>
    public int CachedEvaluations { get; private set; }

    /// <summary>Whether this sampler caches the network's output (a time-independent network and <see cref="SamplingOptions.CacheScores"/>).</summary>
    public bool Caching => caching;

    /// <summary>Time spent inside the network since the last <see cref="Reset"/>.</summary>
    public TimeSpan NetworkTime => TimeSpan.FromSeconds((double)networkTicks / System.Diagnostics.Stopwatch.Frequency);

    /// <summary>Time the predictor and denoiser steps spent on the host (projection, weights, draws) since the last <see cref="Reset"/>.</summary>
    public TimeSpan HostTime => TimeSpan.FromSeconds((double)(stepTicks - networkTicks) / System.Diagnostics.Stopwatch.Frequency);

    /// <summary>Runs the whole loop of spec §6.1 and returns the samples (a view of <see cref="Tokens"/>).</summary>
    /// <param name="seed">Run seed; the same seed gives the same samples.</param>
    /// <param name="cancellation">Checked between steps.</param>
    public ReadOnlySpan<long> Run(ulong seed, CancellationToken cancellation = default)
    {
        Reset(seed);
        for (int i = 0; i < Options.Steps; i++)
        {
            cancellation.ThrowIfCancellationRequested();
            PredictorStep(i, seed);
        }
        if (Options.Denoise)
        {
            cancellation.ThrowIfCancellationRequested();
            DenoiseStep(seed);
        }
        Project();
        return tokens;
    }

    /// <summary>x ← sample_limit (absorb: all mask) and zeroes <see cref="NetworkEvaluations"/>.</summary>
    /// <param name="seed">Run seed (the uniform graph draws its limit tokens from it).</param>
    public void Reset(ulong seed)
    {
        graph.SampleLimit(tokens, seed);
        NetworkEvaluations = 0;
        CachedEvaluations = 0;
        networkTicks = stepTicks = 0;
        cacheValid = false;
    }

    /// <summary>Writes the fixed tokens (spec §6.6).</summary>
    public void Project() => projector.Apply(tokens, Length);

    /// <summary>Predictor call i: projects, evaluates the model at σ̄(τ_i) and draws every changeable position.</summary>
    /// <param name="step">Step index i in [0, steps).</param>
    /// <param name="seed">Run seed.</param>
    public void PredictorStep(int step, ulong seed)
    {
        if ((uint)step >= (uint)Options.Steps)
            throw new ArgumentOutOfRangeException(nameof(step), $"step {step} is outside 0 … {Options.Steps - 1}");
        long start = System.Diagnostics.Stopwatch.GetTimestamp();
        Project();
        double t = timesteps[step];
        Evaluate(schedule.TotalNoise(t));
        if (Options.Predictor == Predictor.Euler)
            DrawRows(RowKind.Euler, EulerRateStep(schedule, t, StepSize), seed, (ulong)step);
        else
            DrawRows(RowKind.Analytic, SeddMath.Expm1(AnalyticDsigma(schedule, t, StepSize)), seed, (ulong)step);
        stepTicks += System.Diagnostics.Stopwatch.GetTimestamp() - start;
    }

    /// <summary>The final denoising call (spec §6.5): projects, evaluates at σ̄(eps) and draws; absorb leaves no mask.</summary>
    /// <param name="seed">Run seed.</param>
    public void DenoiseStep(ulong seed)
    {
        long start = System.Diagnostics.Stopwatch.GetTimestamp();
        Project();
        double sigmaBar = schedule.TotalNoise(timesteps[^1]);
        Evaluate(sigmaBar);
        DrawRows(RowKind.Denoise, SeddMath.Expm1(sigmaBar), seed, (ulong)Options.Steps);
        stepTicks += System.Diagnostics.Stopwatch.GetTimestamp() - start;
    }

    /// <summary>Euler's Δt · σ'(t) (spec §6.3).</summary>
    internal static double EulerRateStep(NoiseSchedule schedule, double t, double dt) => dt * schedule.RateNoise(t);

    /// <summary>The analytic step's Δσ = σ̄(t) − σ̄(t − Δt) (spec §6.4).</summary>
    internal static double AnalyticDsigma(NoiseSchedule schedule, double t, double dt) => schedule.TotalNoise(t) - schedule.TotalNoise(t - dt);

    // One network call: every sequence shares t, so σ̄ is the same for the whole batch (cast after
    // evaluating in double, goldens README).
    void Evaluate(double sigmaBar)
    {
        if (caching && cacheValid && tokens.AsSpan().SequenceEqual(evaluatedTokens))
        {
            // Exact caching: the buffer still holds the output at evaluatedSigma; the rows read it
            // shifted by ln expm1s(σ̄_old) − ln expm1s(σ̄_new) (spec §5.7), own token kept at 0.
            scoreShift = scaleBySigma ? Math.Log(SeddMath.Expm1s(evaluatedSigma)) - Math.Log(SeddMath.Expm1s((float)sigmaBar)) : 0;
            CachedEvaluations++;
            return;
        }
        sigma.AsSpan().Fill((float)sigmaBar);
        long start = System.Diagnostics.Stopwatch.GetTimestamp();
        model.Score(tokens, sigma, logScore);
        networkTicks += System.Diagnostics.Stopwatch.GetTimestamp() - start;
        NetworkEvaluations++;
        scoreShift = 0;
        if (caching)
        {
            // The cache key is the evaluated σ̄ as the network saw it (float32).
            tokens.AsSpan().CopyTo(evaluatedTokens);
            evaluatedSigma = (float)sigmaBar;
            cacheValid = true;
        }
    }
}
