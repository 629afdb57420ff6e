namespace Sedd.Runtime.Sampling;

/// <summary>
/// The host-side half of a SEDD graph (graph_lib.Graph; spec §3.1) that sampling needs, per position:
/// given the current token x and its score row s (positive ratios s = exp(log-score), length D),
/// the reverse-step weights of spec §6.3–6.5. Everything is double: these weights decide the
/// distribution, and in float32 the many tiny entries of a large vocabulary lose mass, which lowers
/// the effective temperature. Weights are unnormalised and may be negative (never chosen, §6.2).
/// </summary>
/// <remarks>
/// The per-sequence scalars arrive precomputed in double (from <see cref="Noise.NoiseSchedule"/> and
/// <see cref="SeddMath.Expm1"/>), so the per-position methods do no transcendental work beyond what
/// the formula needs. The §3.1 pieces (<see cref="ReverseRate"/>, <see cref="StaggeredScore"/>,
/// <see cref="TransposedTransition"/>) are exposed for checking against the goldens; the driver uses
/// the fused <c>*Weights</c> methods.
/// </remarks>
public abstract class SamplingGraph
{
    /// <summary>A graph over <paramref name="dimension"/> states.</summary>
    /// <param name="dimension">D, the width of a score row.</param>
    protected SamplingGraph(int dimension)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(dimension, 2);
        Dimension = dimension;
    }

    /// <summary>D: states per position (absorb: V + 1 with the mask last; uniform: N).</summary>
    public int Dimension { get; }

    /// <summary>Token ids a finished sample may contain and a projector may fix (absorb: V; uniform: N).</summary>
    public abstract int Tokens { get; }

    /// <summary>Width of <see cref="DenoiseWeights"/> (absorb drops the mask column: D − 1; uniform: D).</summary>
    public abstract int DenoiseWidth { get; }

    /// <summary>"absorb" or "uniform", as in the training config.</summary>
    public abstract string Kind { get; }

    /// <summary>
    /// Whether a reverse step can move a position holding <paramref name="token"/>. Absorb: only masked
    /// positions (real tokens get weight e_x in every step, spec §6.3–6.5); uniform: every position.
    /// </summary>
    /// <param name="token">Current token.</param>
    public abstract bool CanChange(long token);

    /// <summary>Draws from the t = 1 reference distribution (sample_limit): absorb all mask; uniform i.i.d. uniform tokens.</summary>
    /// <param name="tokens">Destination, any shape (row-major).</param>
    /// <param name="seed">Run seed; row k uses the stream (seed, <see cref="ulong.MaxValue"/>, firstRow + k).</param>
    /// <param name="firstRow">Stream index of the first row (a sequence with stream index i of length L starts at i·L).</param>
    public abstract void SampleLimit(Span<long> tokens, ulong seed, ulong firstRow = 0);

    /// <summary>Reverse rate (spec §3.1): R_y = Q[x, y] s_y for y ≠ x, R_x = −Σ_{y≠x} R_y.</summary>
    /// <param name="x">Current token.</param>
    /// <param name="score">Ratios s, length D.</param>
    /// <param name="rate">Destination, length D.</param>
    public abstract void ReverseRate(long x, ReadOnlySpan<double> score, Span<double> rate);

    /// <summary>exp(−Δσ Q) s (staggered_score).</summary>
    /// <param name="score">Ratios s, length D.</param>
    /// <param name="dsigma">Δσ.</param>
    /// <param name="staggered">Destination, length D.</param>
    public abstract void StaggeredScore(ReadOnlySpan<double> score, double dsigma, Span<double> staggered);

    /// <summary>Row x of exp(σQ) (transp_transition).</summary>
    /// <param name="x">Current token.</param>
    /// <param name="sigma">σ.</param>
    /// <param name="row">Destination, length D.</param>
    public abstract void TransposedTransition(long x, double sigma, Span<double> row);

    /// <summary>Euler weights (spec §6.3): p = e_x + Δt σ'(t) · reverse_rate(x, s).</summary>
    /// <param name="x">Current token.</param>
    /// <param name="score">Ratios s, length D.</param>
    /// <param name="rateStep">Δt · σ'(t).</param>
    /// <param name="weights">Destination, length D.</param>
    public abstract void EulerWeights(long x, ReadOnlySpan<double> score, double rateStep, Span<double> weights);

    /// <summary>Analytic (Tweedie) weights (spec §6.4): p = staggered_score(s, Δσ) ⊙ transp_transition(x, Δσ).</summary>
    /// <param name="x">Current token.</param>
    /// <param name="score">Ratios s, length D.</param>
    /// <param name="expm1Dsigma">e^Δσ − 1 with Δσ = σ̄(t) − σ̄(t − Δt), from <see cref="SeddMath.Expm1"/>.</param>
    /// <param name="weights">Destination, length D.</param>
    public abstract void AnalyticWeights(long x, ReadOnlySpan<double> score, double expm1Dsigma, Span<double> weights);

    /// <summary>
    /// Final denoising weights (spec §6.5): the analytic step from σ = σ̄(eps) to 0,
    /// staggered_score(s, σ) ⊙ transp_transition(x, σ); absorb drops the mask column.
    /// </summary>
    /// <param name="x">Current token.</param>
    /// <param name="score">Ratios s, length D.</param>
    /// <param name="expm1Sigma">e^σ − 1 with σ = σ̄(eps).</param>
    /// <param name="weights">Destination, length <see cref="DenoiseWidth"/>.</param>
    public abstract void DenoiseWeights(long x, ReadOnlySpan<double> score, double expm1Sigma, Span<double> weights);

    /// <summary>Builds the graph of a training config (graph_lib.get_graph).</summary>
    /// <param name="kind">"absorb" or "uniform".</param>
    /// <param name="tokens">Real tokens V (absorb) or states N (uniform).</param>
    public static SamplingGraph Create(string kind, int tokens) => kind switch
    {
        "absorb" => new AbsorbingSamplingGraph(tokens),
        "uniform" => new UniformSamplingGraph(tokens),
        _ => throw new SeddException($"unknown graph '{kind}' (expected absorb or uniform)", SeddException.BadInput),
    };

    /// <summary>Checks the lengths every per-position method relies on.</summary>
    /// <param name="score">Score row.</param>
    /// <param name="output">Destination row.</param>
    /// <param name="outputLength">Expected destination length.</param>
    protected void CheckRow(ReadOnlySpan<double> score, Span<double> output, int outputLength)
    {
        if (score.Length != Dimension || output.Length != outputLength)
            throw new ArgumentException($"{Kind} graph rows: expected score length {Dimension} and output length {outputLength}, got {score.Length} and {output.Length}");
    }

    /// <summary>Checks a token id.</summary>
    /// <param name="x">Token.</param>
    protected void CheckToken(long x)
    {
        if ((ulong)x >= (ulong)Dimension)
            throw new ArgumentOutOfRangeException(nameof(x), $"token {x} is not a state of the {Kind} graph (0 … {Dimension - 1})");
    }
}
