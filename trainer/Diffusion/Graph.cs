using Sedd.Runtime;
using static TorchSharp.torch;

namespace Sedd.Trainer.Diffusion;

/// <summary>
/// A forward process on D token states with rate matrix Q (SEDD graph_lib.Graph; spec §3.1).
/// Column convention: Q[y, x] is the jump rate from x to y. Every method works per position on
/// token tensors <c>[B,L]</c> (int64) and score tensors <c>[B,L,D]</c> (float32 or float64).
/// </summary>
/// <remarks>
/// Per-sequence noise scalars (σ̄, Δσ) are passed as host doubles, one per batch row, and every
/// derived scalar (e^−σ, 1/(e^σ − 1), ratios, K(·)) is evaluated in double before it becomes a
/// tensor of the score's dtype: the goldens README requires this for a float32 implementation.
/// Nothing here materialises more than one <c>[B,L,D]</c> tensor at a time, and nothing loops over
/// elements in C#.
/// </remarks>
public abstract class Graph
{
    /// <summary>Number of states D (absorb: V + 1; uniform: V).</summary>
    public abstract long Dim { get; }

    /// <summary>Number of real tokens V (absorb: D − 1; uniform: D).</summary>
    public abstract long Vocab { get; }

    /// <summary>True for the absorbing (mask) graph.</summary>
    public abstract bool IsAbsorbing { get; }

    /// <summary>Config name: "absorb" or "uniform".</summary>
    public abstract string Kind { get; }

    /// <summary>The mask state M = V of the absorbing graph; −1 for graphs without one.</summary>
    public virtual long MaskIndex => -1;

    /// <summary>Builds a graph from its config name (SEDD graph_lib.get_graph).</summary>
    /// <param name="kind">"absorb" or "uniform".</param>
    /// <param name="realTokens">V, the number of real tokens (50257 for GPT-2).</param>
    public static Graph Create(string kind, long realTokens)
    {
        if (realTokens < 2)
            throw new SeddException($"a graph needs at least 2 real tokens, got {realTokens}", SeddException.Usage);
        return kind switch
        {
            "absorb" => new AbsorbingGraph(realTokens),
            "uniform" => new UniformGraph(realTokens),
            _ => throw new SeddException($"unknown graph '{kind}' (expected absorb or uniform)", SeddException.Usage),
        };
    }

    /// <summary>Column i of Q (forward rates out of i), per position: <c>[B,L] → [B,L,D]</c>.</summary>
    /// <param name="i">Current tokens, int64 <c>[B,L]</c>.</param>
    /// <param name="dtype">Floating dtype of the result.</param>
    public abstract Tensor Rate(Tensor i, ScalarType dtype = ScalarType.Float32);

    /// <summary>Row i of Q (rates into i), per position: <c>[B,L] → [B,L,D]</c>.</summary>
    /// <param name="i">Current tokens, int64 <c>[B,L]</c>.</param>
    /// <param name="dtype">Floating dtype of the result.</param>
    public abstract Tensor TransposedRate(Tensor i, ScalarType dtype = ScalarType.Float32);

    /// <summary>Row i of e^{σQ} per position, σ one value per batch row: <c>[B,L] → [B,L,D]</c>.</summary>
    /// <param name="i">Current tokens, int64 <c>[B,L]</c>.</param>
    /// <param name="sigma">σ per batch row (B values).</param>
    /// <param name="dtype">Floating dtype of the result.</param>
    public abstract Tensor TransposedTransition(Tensor i, ReadOnlySpan<double> sigma, ScalarType dtype = ScalarType.Float32);

    /// <summary>
    /// Draws x_t from the forward marginal given x0 (spec §3.2/§3.3) with injected randomness: a
    /// position moves when <c>uniforms &lt; 1 − e^{−σ̄_b}</c>; the uniform graph then takes the token
    /// from <paramref name="randomTokens"/> (the absorbing graph takes the mask).
    /// </summary>
    /// <param name="x0">Clean tokens, int64 <c>[B,L]</c>.</param>
    /// <param name="sigma">σ̄ per batch row.</param>
    /// <param name="uniforms">U[0,1) draws <c>[B,L]</c>.</param>
    /// <param name="randomTokens">Replacement tokens <c>[B,L]</c> uniform over all D states (uniform graph only).</param>
    public abstract Tensor SampleTransition(Tensor x0, ReadOnlySpan<double> sigma, Tensor uniforms, Tensor? randomTokens = null);

    /// <summary>
    /// <see cref="SampleTransition(Tensor, ReadOnlySpan{double}, Tensor, Tensor?)"/> drawing its
    /// randomness from <paramref name="generator"/>: first float64 uniforms <c>[B,L]</c>, then (uniform
    /// graph only) replacement tokens <c>[B,L]</c>. Never touches the global RNG.
    /// </summary>
    /// <param name="x0">Clean tokens, int64 <c>[B,L]</c>.</param>
    /// <param name="sigma">σ̄ per batch row.</param>
    /// <param name="generator">Seeded generator; draws happen on its device, then move to x0's.</param>
    public Tensor SampleTransition(Tensor x0, ReadOnlySpan<double> sigma, Generator generator)
    {
        ArgumentNullException.ThrowIfNull(x0);
        ArgumentNullException.ThrowIfNull(generator);
        using var scope = NewDisposeScope();
        var uniforms = rand(x0.shape, ScalarType.Float64, generator.device, generator: generator).to(x0.device);
        var tokens = IsAbsorbing ? null : randint(0, Dim, x0.shape, ScalarType.Int64, generator.device, generator: generator).to(x0.device);
        return SampleTransition(x0, sigma, uniforms, tokens).MoveToOuterDisposeScope();
    }

    /// <summary>
    /// e^{−ΔσQ} s per position (spec §3.1): undoes Δσ of noise on the positive ratios s.
    /// </summary>
    /// <param name="score">Positive ratios <c>[B,L,D]</c>.</param>
    /// <param name="dsigma">Δσ per batch row.</param>
    public abstract Tensor StaggeredScore(Tensor score, ReadOnlySpan<double> dsigma);

    /// <summary>
    /// Reverse-time rate vector (SEDD Graph.reverse_rate; spec §3.1): R_y = Q[i, y] s_y for y ≠ i
    /// and R_i = −Σ_{y≠i} R_y, so each position's vector sums to 0.
    /// </summary>
    /// <param name="i">Current tokens, int64 <c>[B,L]</c>.</param>
    /// <param name="score">Positive ratios <c>[B,L,D]</c>.</param>
    public Tensor ReverseRate(Tensor i, Tensor score)
    {
        ArgumentNullException.ThrowIfNull(i);
        ArgumentNullException.ThrowIfNull(score);
        using var scope = NewDisposeScope();
        var index = i.unsqueeze(-1);
        var rate = TransposedRate(i, score.dtype).mul_(score);
        rate.scatter_(-1, index, zeros(index.shape, score.dtype, score.device));
        rate.scatter_(-1, index, rate.sum(-1, keepdim: true).neg_());
        return rate.MoveToOuterDisposeScope();
    }

    /// <summary>Draws from the t = 1 reference distribution (absorb: all mask; uniform: uniform tokens).</summary>
    /// <param name="shape">Batch shape, e.g. <c>[B, L]</c>.</param>
    /// <param name="generator">Seeded generator (unused by the absorbing graph).</param>
    /// <param name="device">Device of the result (default: the generator's).</param>
    public abstract Tensor SampleLimit(long[] shape, Generator generator, Device? device = null);

    /// <summary>
    /// Per-position score entropy of spec §3.2/§3.3 (SEDD Graph.score_entropy): <c>[B,L]</c>.
    /// Differentiable with respect to <paramref name="logScore"/>.
    /// </summary>
    /// <param name="logScore">Network output: log-ratios <c>[B,L,D]</c>.</param>
    /// <param name="sigma">σ̄ per batch row.</param>
    /// <param name="x">Noisy tokens x_t, int64 <c>[B,L]</c>.</param>
    /// <param name="x0">Clean tokens, int64 <c>[B,L]</c>.</param>
    public abstract Tensor ScoreEntropy(Tensor logScore, ReadOnlySpan<double> sigma, Tensor x, Tensor x0);

    /// <summary>Probability that a token has moved by total noise σ: 1 − e^{−σ}, in double.</summary>
    /// <param name="sigma">Total noise σ̄ ≥ 0.</param>
    public static double MoveChance(double sigma) => -SeddMath.Expm1(-sigma);

    /// <summary>Reads a per-row tensor (<c>[B]</c> or <c>[B,1]</c>, any dtype) into host doubles.</summary>
    /// <param name="perRow">One value per batch row.</param>
    public static double[] HostValues(Tensor perRow)
    {
        ArgumentNullException.ThrowIfNull(perRow);
        using var d = perRow.detach().to(ScalarType.Float64, CPU).contiguous();
        return d.data<double>().ToArray();
    }

    /// <summary>
    /// Host doubles → tensor of shape <c>[B, 1, ..., 1]</c> (<paramref name="trailing"/> ones), so a
    /// per-sequence scalar broadcasts over positions and states.
    /// </summary>
    protected static Tensor RowScalars(ReadOnlySpan<double> values, int trailing, ScalarType dtype, Device device)
    {
        var shape = new long[trailing + 1];
        Array.Fill(shape, 1L);
        shape[0] = values.Length;
        return tensor(values.ToArray(), shape, dtype, device);
    }

    /// <summary>Evaluates <paramref name="f"/> on each host value (per-row scalars, B of them).</summary>
    protected static double[] Map(ReadOnlySpan<double> values, Func<double, double> f)
    {
        var r = new double[values.Length];
        for (int b = 0; b < r.Length; b++) r[b] = f(values[b]);
        return r;
    }

    /// <summary>Throws unless <paramref name="tokens"/> is <c>[B,L]</c> with B = number of per-row values.</summary>
    protected static void CheckRows(Tensor tokens, ReadOnlySpan<double> perRow, string name)
    {
        ArgumentNullException.ThrowIfNull(tokens);
        if (tokens.dim() < 1 || tokens.shape[0] != perRow.Length)
            throw new ArgumentException($"{name}: expected one value per batch row ({(tokens.dim() < 1 ? 0 : tokens.shape[0])}), got {perRow.Length}", name);
    }

    /// <summary>Throws unless <paramref name="scores"/> has D states in its last dimension.</summary>
    protected void CheckStates(Tensor scores, string name)
    {
        ArgumentNullException.ThrowIfNull(scores);
        if (scores.dim() < 1 || scores.shape[^1] != Dim)
            throw new ArgumentException($"{name}: expected last dimension {Dim} (states of the {Kind} graph), got [{string.Join(", ", scores.shape)}]", name);
    }
}
