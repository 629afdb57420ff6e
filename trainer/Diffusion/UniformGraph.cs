using Sedd.Runtime;
using static TorchSharp.torch;

namespace Sedd.Trainer.Diffusion;

/// <summary>
/// Uniform graph (SEDD graph_lib.Uniform; spec §3.3): D = N = V states, jump to any state
/// (itself included) at total rate 1: Q = (1/N)·11ᵀ − I, symmetric.
/// </summary>
/// <param name="tokens">N, the number of tokens (all states are real).</param>
public sealed class UniformGraph(long tokens) : Graph
{
    /// <inheritdoc />
    public override long Dim { get; } = tokens;

    /// <inheritdoc />
    public override long Vocab => Dim;

    /// <inheritdoc />
    public override bool IsAbsorbing => false;

    /// <inheritdoc />
    public override string Kind => "uniform";

    /// <summary>rate(i) = 1/N everywhere and −(N−1)/N at i.</summary>
    /// <inheritdoc />
    public override Tensor Rate(Tensor i, ScalarType dtype = ScalarType.Float32) =>
        Filled(i, 1.0 / Dim, -(Dim - 1.0) / Dim, dtype);

    /// <summary>Q is symmetric: the row equals the column.</summary>
    /// <inheritdoc />
    public override Tensor TransposedRate(Tensor i, ScalarType dtype = ScalarType.Float32) => Rate(i, dtype);

    /// <summary>
    /// Column i of e^{σQ}: (1 − e^{−σ})/N at every j ≠ i and 1 − (N−1)(1 − e^{−σ})/N at i.
    /// </summary>
    /// <param name="i">Current tokens, int64 <c>[B,L]</c>.</param>
    /// <param name="sigma">σ per batch row.</param>
    /// <param name="dtype">Floating dtype of the result.</param>
    public Tensor Transition(Tensor i, ReadOnlySpan<double> sigma, ScalarType dtype = ScalarType.Float32)
    {
        CheckRows(i, sigma, nameof(sigma));
        using var scope = NewDisposeScope();
        // Both entries per sequence in double; the diagonal never goes through a float32 subtraction.
        var off = Map(sigma, s => MoveChance(s) / Dim);
        var diagonal = Map(sigma, s => 1 - (Dim - 1) * (MoveChance(s) / Dim));
        var result = RowScalars(off, 2, dtype, i.device).expand(Shape(i)).contiguous();
        var index = i.unsqueeze(-1);
        result.scatter_(-1, index, RowScalars(diagonal, 2, dtype, i.device).expand(index.shape));
        return result.MoveToOuterDisposeScope();
    }

    /// <summary>Q is symmetric, so the row of e^{σQ} is the column.</summary>
    /// <inheritdoc />
    public override Tensor TransposedTransition(Tensor i, ReadOnlySpan<double> sigma, ScalarType dtype = ScalarType.Float32) =>
        Transition(i, sigma, dtype);

    /// <summary>
    /// x_t = <paramref name="randomTokens"/> where <c>uniforms &lt; 1 − e^{−σ̄_b}</c>, else x0; the
    /// replacement is uniform over all N tokens and may equal x0 (spec §3.3).
    /// </summary>
    /// <inheritdoc />
    public override Tensor SampleTransition(Tensor x0, ReadOnlySpan<double> sigma, Tensor uniforms, Tensor? randomTokens = null)
    {
        CheckRows(x0, sigma, nameof(sigma));
        ArgumentNullException.ThrowIfNull(uniforms);
        ArgumentNullException.ThrowIfNull(randomTokens);
        using var scope = NewDisposeScope();
        var moveChance = RowScalars(Map(sigma, MoveChance), 1, uniforms.dtype, uniforms.device);
        var moved = uniforms.lt(moveChance).to(x0.device);
        return where(moved, randomTokens.to(x0.device), x0).MoveToOuterDisposeScope();
    }

    /// <summary>
    /// e^{Δσ} s + ((1 − e^{Δσ})/N) Σ_k s_k (SEDD Uniform.staggered_score, written without p = e^{−Δσ}).
    /// </summary>
    /// <inheritdoc />
    public override Tensor StaggeredScore(Tensor score, ReadOnlySpan<double> dsigma)
    {
        CheckStates(score, nameof(score));
        CheckRows(score, dsigma, nameof(dsigma));
        using var scope = NewDisposeScope();
        var grow = RowScalars(Map(dsigma, Math.Exp), 2, score.dtype, score.device);
        var leak = RowScalars(Map(dsigma, d => -SeddMath.Expm1(d) / Dim), 2, score.dtype, score.device);
        var result = score.mul(grow).add_(score.sum(-1, keepdim: true).mul_(leak));
        return result.MoveToOuterDisposeScope();
    }

    /// <summary>Independent uniform tokens.</summary>
    /// <inheritdoc />
    public override Tensor SampleLimit(long[] shape, Generator generator, Device? device = null)
    {
        ArgumentNullException.ThrowIfNull(generator);
        using var scope = NewDisposeScope();
        var tokens = randint(0, Dim, shape, ScalarType.Int64, generator.device, generator: generator);
        return tokens.to(device ?? generator.device).MoveToOuterDisposeScope();
    }

    /// <summary>
    /// Spec §3.3 in its cancellation-free form. With E = expm1s(σ̄), P = Σ_{y≠x} exp(ℓ_y) and
    /// S = Σ_{y≠x} ℓ_y, a position contributes
    /// (1/N)[P − r S + (N−1) K(r)] with r = E/(E + N) when x = x0, and
    /// (1/N)[P − S − (N/E) ℓ_{x0} − (N−2) + K(A)] with A = 1 + N/E when x ≠ x0
    /// (the spec's −(S − ℓ_{x0}) − A ℓ_{x0} with A − 1 = N/E taken out). r, A, K(·) are per-row
    /// doubles: SEDD's 1 − N/(E + N) cancels in float32 for large N and small σ.
    /// The entry ℓ_x is excluded explicitly, so the network's value there does not matter.
    /// </summary>
    /// <inheritdoc />
    public override Tensor ScoreEntropy(Tensor logScore, ReadOnlySpan<double> sigma, Tensor x, Tensor x0)
    {
        CheckStates(logScore, nameof(logScore));
        CheckRows(x, sigma, nameof(sigma));
        ArgumentNullException.ThrowIfNull(x0);
        using var scope = NewDisposeScope();
        var dtype = logScore.dtype;
        var device = logScore.device;
        double n = Dim;

        var e = Map(sigma, SeddMath.Expm1s);
        var r = Map(e, v => v / (v + n));
        var a = Map(e, v => 1 + n / v);
        Tensor Row(double[] v) => RowScalars(v, 1, dtype, device);                          // [B,1]
        var sameNegative = Row(Map(r, v => v / n));                                         // r/N
        var sameConst = Row(Map(r, v => (n - 1) * SeddMath.K(v) / n));
        var movedTarget = Row(Map(e, v => 1 / v));                                          // (N/E)/N
        var movedConst = Row(Map(a, v => (SeddMath.K(v) - (n - 2)) / n));

        var index = x.unsqueeze(-1);
        var atX = logScore.gather(-1, index).squeeze(-1);                                   // ℓ_x [B,L]
        var atX0 = logScore.gather(-1, x0.unsqueeze(-1)).squeeze(-1);                       // ℓ_{x0}
        var sumOthers = logScore.sum(-1).sub(atX);                                          // S
        // exp(−∞) = 0 drops the current token from P without subtracting e^{ℓ_x} afterwards
        // (which would cancel when the other scores are small); its gradient there is 0. The
        // scattered copy is exponentiated in place (scatter's backward needs no values), so only
        // one [B,L,D] tensor is allocated.
        var expOthers = logScore.scatter(-1, index, full(index.shape, double.NegativeInfinity, dtype, device)).exp_().sum(-1); // P

        var same = x.eq(x0);
        var positive = expOthers.div(n);
        var negative = where(same, sumOthers.mul(sameNegative), sumOthers.div(n).add(atX0.mul(movedTarget)));
        var constant = where(same, sameConst, movedConst);
        return positive.sub(negative).add(constant).MoveToOuterDisposeScope();
    }

    long[] Shape(Tensor i) => [.. i.shape, Dim];

    Tensor Filled(Tensor i, double off, double diagonal, ScalarType dtype)
    {
        ArgumentNullException.ThrowIfNull(i);
        using var scope = NewDisposeScope();
        var index = i.unsqueeze(-1);
        var result = full(Shape(i), off, dtype, i.device);
        result.scatter_(-1, index, full(index.shape, diagonal, dtype, i.device));
        return result.MoveToOuterDisposeScope();
    }
}
