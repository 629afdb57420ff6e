using System.Diagnostics;
using Sedd.Runtime.Noise;

namespace Sedd.Runtime.Sampling;

/// <summary>
/// The reverse-time sampler (SEDD sampling.get_pc_sampler) on the host, framework-free:
/// <code>
/// x ← sample_limit
/// for i = 0 … steps−1:  x ← projector(x);  x ← predictor(x, τ_i, Δt)
/// if denoise:           x ← projector(x);  x ← denoiser(x, eps)
/// return projector(x)
/// </code>
/// or, for <see cref="Predictor.FirstHitting"/>, one call per unmasked token
/// (<see cref="FirstHittingStep"/>). All buffers (tokens, the [B, L, D] log-score, per-worker rows) are
/// allocated once in the constructor; a step allocates nothing in steady state, with one thread or
/// several (a fixed team of row workers, <see cref="RowWorkers"/>).
/// </summary>
/// <remarks>
/// Only positions that can change are drawn: for absorb the masked ones, and never the positions a
/// sequence's projector fixes. Every sequence has its own random stream and conditioning
/// (<see cref="SequenceSetup"/>), so sequences of different requests can share a batch and each gets
/// the sample it would get alone. A network that implements <see cref="IBindableScoreFunction"/>
/// receives the sampler's buffers once and is then called once per step, writing its output in place
/// (sequences that are not contiguous are gathered into a staging batch and copied back). For a time-independent network (<see cref="IScoreFunctionTraits"/>) a sequence
/// whose tokens did not change since its last evaluation is not evaluated again: its cached output is
/// shifted to the new noise level in double inside the row pipeline, which is exact.
/// </remarks>
public sealed partial class DiffusionSampler
{
    readonly SamplingGraph graph;
    readonly NoiseSchedule schedule;
    readonly IScoreFunction model;
    readonly InfillProjector defaultProjector;
    readonly CategoricalSampler sampler;
    readonly bool fusedDraws;
    readonly long[] tokens;
    readonly float[] sigma;
    readonly float[] logScore;
    readonly double[] timesteps;
    readonly SequenceSetup[] setups;
    readonly InfillProjector[] projectors;
    readonly TokenChoice[] choices;
    readonly bool[] fixedPosition;   // [B, L]
    readonly bool[] active;          // [B]: frozen sequences are neither evaluated nor drawn
    readonly int dimension;
    long stepTicks;

    /// <summary>Prepares a sampler and allocates every buffer it will use.</summary>
    /// <param name="graph">Sampling graph matching the model (its <see cref="SamplingGraph.Dimension"/> is the model's output width D).</param>
    /// <param name="schedule">Noise schedule the model was trained with.</param>
    /// <param name="model">Score network.</param>
    /// <param name="batch">Sequences per run, B ≥ 1.</param>
    /// <param name="length">Sequence length, L ≥ 1.</param>
    /// <param name="options">Predictor, steps, eps, denoise, threads (defaults: <see cref="SamplingOptions"/>).</param>
    /// <param name="projector">Default conditioning of every sequence (default none).</param>
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
            throw new SeddException($"a batch of {batch} × {length} positions × {graph.Dimension} states ({scoreLength:N0} log-scores) exceeds one buffer; use a smaller batch", SeddException.Usage);
        RequireMemory(batch, length, graph.Dimension);
        defaultProjector = projector ?? InfillProjector.None;
        defaultProjector.Validate(length, graph);
        var traits = model as IScoreFunctionTraits;
        if (Options.Predictor == Predictor.FirstHitting && (graph is not AbsorbingSamplingGraph || traits is not { TimeIndependent: true }))
            throw new SeddException("the first-hitting sampler needs an absorbing model whose network ignores the noise level (time-independent); use euler or analytic", SeddException.Usage) { Param = "sampler" };

        this.graph = graph;
        this.schedule = schedule;
        this.model = model;
        this.sampler = sampler ?? new InverseCdfSampler();
        fusedDraws = graph is AbsorbingSamplingGraph && this.sampler is InverseCdfSampler;
        dimension = graph.Dimension;
        Batch = batch;
        Length = length;
        tokens = new long[batch * length];
        sigma = new float[batch];
        logScore = new float[scoreLength];
        timesteps = new double[Options.Steps + 1];
        TimeGrid.Fill(timesteps, Options.Eps);
        StepSize = TimeGrid.StepSize(Options.Steps, Options.Eps);
        setups = new SequenceSetup[batch];
        projectors = new InfillProjector[batch];
        choices = new TokenChoice[batch];
        fixedPosition = new bool[batch * length];
        active = new bool[batch];
        InitializeNetwork(traits);
        InitializeRows(ThreadCount.Resolve(Options.Threads));
        InitializeFirstHitting();
        EnsureBound();
    }

    // Hands the sampler's buffers to a bindable network, unless they are bound already (another sampler
    // sharing the network binds its own when it runs; this one binds again when it runs next).
    void EnsureBound()
    {
        if (model is not IBindableScoreFunction bindable || bindable.IsBoundTo(tokens)) return;
        bindable.Bind(tokens, sigma, logScore, Batch, Length);
        if (Gathers) bindable.BindStaging(stageTokens, stageSigma, stageScore, stageSigma.Length, Length);
    }

    /// <summary>
    /// Bytes a sampler of this shape holds (the [B, L, D] log-score in float, tokens, per-worker rows)
    /// plus a rough allowance for the network's own activations (several times its output).
    /// </summary>
    /// <param name="batch">B.</param>
    /// <param name="length">L.</param>
    /// <param name="dimension">D.</param>
    public static long EstimateBytes(int batch, int length, int dimension)
    {
        long output = MemoryBudget.Product(batch, length, dimension, sizeof(float));
        // ONNX Runtime's arena holds the output layer's logits and a few [B, L, 4H] activations; 3× the
        // output is a conservative allowance measured on the default model (peak RSS / output ≈ 2.4).
        // Per position: tokens, flags and versions (8 longs), and a caching sampler's sums of each row.
        long perPosition = MemoryBudget.Product(batch, length, 8 * sizeof(long) + (RowChunks(dimension) + 1) * sizeof(double));
        return output == long.MaxValue || perPosition == long.MaxValue ? long.MaxValue : output * 4 + perPosition;
    }

    /// <summary>Refuses (usage error, with the need and what is available) a sampler of this shape that cannot fit in memory.</summary>
    /// <param name="batch">B.</param>
    /// <param name="length">L.</param>
    /// <param name="dimension">D.</param>
    public static void RequireMemory(int batch, int length, int dimension) =>
        MemoryBudget.Require(EstimateBytes(batch, length, dimension), $"sampling {batch} × {length} tokens over {dimension:N0} states", "use a smaller batch or length");

    /// <summary>Sequences per run, B.</summary>
    public int Batch { get; }

    /// <summary>Sequence length, L.</summary>
    public int Length { get; }

    /// <summary>The settings this sampler was built with.</summary>
    public SamplingOptions Options { get; }

    /// <summary>The graph being sampled.</summary>
    public SamplingGraph Graph => graph;

    /// <summary>
    /// The current batch, row-major [B, L]. After <see cref="Run(ulong, CancellationToken)"/> it holds the
    /// samples. Callers that drive the steps themselves may overwrite it between steps (e.g. to replay a
    /// reference run); the cache then notices the change.
    /// </summary>
    public Span<long> Tokens => tokens;

    /// <summary>τ_0 = 1 … τ_steps = eps.</summary>
    public ReadOnlySpan<double> Timesteps => timesteps;

    /// <summary>Δt = (1 − eps) / steps.</summary>
    public double StepSize { get; }

    /// <summary>The setup of every sequence since the last reset.</summary>
    public ReadOnlySpan<SequenceSetup> Sequences => setups;

    /// <summary>Time the predictor and denoiser steps spent on the host (projection, weights, draws) since the last reset.</summary>
    public TimeSpan HostTime => TimeSpan.FromSeconds((double)(stepTicks - networkTicks) / Stopwatch.Frequency);

    /// <summary>Runs the whole loop with one seed for every sequence (sequence b uses the stream (seed, b)) and returns the samples (a view of <see cref="Tokens"/>).</summary>
    /// <param name="seed">Run seed; the same seed gives the same samples.</param>
    /// <param name="cancellation">Checked between steps.</param>
    public ReadOnlySpan<long> Run(ulong seed, CancellationToken cancellation = default)
    {
        Reset(seed);
        return Run(cancellation);
    }

    /// <summary>Runs the whole loop from the current reset state and returns the samples.</summary>
    /// <param name="cancellation">Checked between steps.</param>
    public ReadOnlySpan<long> Run(CancellationToken cancellation = default)
    {
        if (Options.Predictor == Predictor.FirstHitting)
        {
            while (FirstHittingStep(cancellation)) { }
        }
        else
        {
            for (int i = 0; i < Options.Steps; i++)
            {
                cancellation.ThrowIfCancellationRequested();
                PredictorStep(i);
            }
            if (Options.Denoise)
            {
                cancellation.ThrowIfCancellationRequested();
                DenoiseStep();
            }
        }
        Project();
        return tokens;
    }

    /// <summary>x ← sample_limit with one seed: sequence b gets the stream (seed, b) and the default projector.</summary>
    /// <param name="seed">Run seed (the uniform graph draws its limit tokens from it).</param>
    public void Reset(ulong seed)
    {
        for (int b = 0; b < Batch; b++) setups[b] = new SequenceSetup(seed, (ulong)b);
        Reset(setups);
    }

    /// <summary>x ← sample_limit with a setup per sequence; zeroes the counters and the cache.</summary>
    /// <param name="sequences">One setup per sequence (exactly <see cref="Batch"/>).</param>
    public void Reset(ReadOnlySpan<SequenceSetup> sequences)
    {
        if (sequences.Length != Batch)
            throw new ArgumentException($"expected {Batch} sequence setups, got {sequences.Length}", nameof(sequences));
        if (!sequences.Overlaps(setups)) sequences.CopyTo(setups);
        Array.Clear(fixedPosition);
        for (int b = 0; b < Batch; b++)
        {
            var p = setups[b].Projector ?? defaultProjector;
            if (!ReferenceEquals(p, defaultProjector)) p.Validate(Length, graph);
            var choice = setups[b].Choice;
            if (!choice.IsNeutral)
            {
                choice.Validate();
                if (graph is not AbsorbingSamplingGraph)
                    throw new SeddException("temperature, top-k and top-p reshape the choice of a token where a mask unmasks; they need an absorbing model", SeddException.Usage) { Param = "temperature" };
            }
            projectors[b] = p;
            choices[b] = choice;
            foreach (int pos in p.Positions) fixedPosition[b * Length + pos] = true;
            graph.SampleLimit(tokens.AsSpan(b * Length, Length), setups[b].Seed, setups[b].Index * (ulong)Length);
            active[b] = true;
        }
        stepTicks = 0;
        ResetNetwork();
        ResetRows();
        ResetFirstHitting();
        Project();
    }

    /// <summary>
    /// Freezes sequence <paramref name="b"/>: from now on it is neither evaluated nor drawn (a cancelled
    /// request in a shared batch). Its tokens stay as they are.
    /// </summary>
    /// <param name="b">Sequence index.</param>
    public void Freeze(int b) => active[b] = false;

    /// <summary>Whether sequence <paramref name="b"/> is still sampled.</summary>
    /// <param name="b">Sequence index.</param>
    public bool IsActive(int b) => active[b];

    /// <summary>Writes every sequence's fixed tokens.</summary>
    public void Project()
    {
        for (int b = 0; b < Batch; b++) projectors[b].Apply(tokens.AsSpan(b * Length, Length), Length);
    }

    /// <summary>Predictor call i with the stored sequence setups.</summary>
    /// <param name="step">Step index i in [0, steps).</param>
    public void PredictorStep(int step)
    {
        if (Options.Predictor == Predictor.FirstHitting)
            throw new InvalidOperationException("the first-hitting sampler advances with FirstHittingStep, not predictor steps");
        if ((uint)step >= (uint)Options.Steps)
            throw new ArgumentOutOfRangeException(nameof(step), $"step {step} is outside 0 … {Options.Steps - 1}");
        long start = Stopwatch.GetTimestamp();
        Project();
        double t = timesteps[step];
        EvaluateAll(schedule.TotalNoise(t));
        if (Options.Predictor == Predictor.Euler)
            DrawRows(RowKind.Euler, EulerRateStep(schedule, t, StepSize), (ulong)step);
        else
            DrawRows(RowKind.Analytic, SeddMath.Expm1(AnalyticDsigma(schedule, t, StepSize)), (ulong)step);
        stepTicks += Stopwatch.GetTimestamp() - start;
    }

    /// <summary>Predictor call i with every sequence's stream reset to (seed, b) (single-run callers).</summary>
    /// <param name="step">Step index i in [0, steps).</param>
    /// <param name="seed">Run seed.</param>
    public void PredictorStep(int step, ulong seed)
    {
        UseSeed(seed);
        PredictorStep(step);
    }

    /// <summary>The final denoising call: projects, evaluates at σ̄(eps) and draws; absorb leaves no mask.</summary>
    public void DenoiseStep()
    {
        long start = Stopwatch.GetTimestamp();
        Project();
        double sigmaBar = schedule.TotalNoise(timesteps[^1]);
        EvaluateAll(sigmaBar);
        DrawRows(RowKind.Denoise, SeddMath.Expm1(sigmaBar), (ulong)Options.Steps);
        stepTicks += Stopwatch.GetTimestamp() - start;
    }

    /// <summary>The final denoising call with every sequence's stream reset to (seed, b).</summary>
    /// <param name="seed">Run seed.</param>
    public void DenoiseStep(ulong seed)
    {
        UseSeed(seed);
        DenoiseStep();
    }

    void UseSeed(ulong seed)
    {
        for (int b = 0; b < Batch; b++)
            if (setups[b].Seed != seed || setups[b].Index != (ulong)b) setups[b] = setups[b] with { Seed = seed, Index = (ulong)b };
    }

    /// <summary>Euler's Δt · σ'(t).</summary>
    internal static double EulerRateStep(NoiseSchedule schedule, double t, double dt) => dt * schedule.RateNoise(t);

    /// <summary>The analytic step's Δσ = σ̄(t) − σ̄(t − Δt).</summary>
    internal static double AnalyticDsigma(NoiseSchedule schedule, double t, double dt) => schedule.TotalNoise(t) - schedule.TotalNoise(t - dt);
}
