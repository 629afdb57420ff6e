using Sedd.Runtime;
using static TorchSharp.torch;

namespace Sedd.Trainer.Diffusion;

/// <summary>
/// Absorbing (mask) graph (SEDD graph_lib.Absorbing; spec §3.2): D = V + 1 states, the last one
/// (index V) is the mask M. Every real token jumps to M at rate 1; M never leaves:
/// Q[M, j] = 1 and Q[j, j] = −1 for j ≠ M, all other entries 0.
/// </summary>
/// <param name="realTokens">V, the number of real tokens.</param>
public sealed class AbsorbingGraph(long realTokens) : Graph
{
    /// <inheritdoc />
    public override long Dim { get; } = realTokens + 1;

    /// <inheritdoc />
    public override long Vocab { get; } = realTokens;

    /// <inheritdoc />
    public override long MaskIndex => Vocab;

    /// <inheritdoc />
    public override bool IsAbsorbing => true;

    /// <inheritdoc />
    public override string Kind => "absorb";

    /// <summary>rate(i) = e_M − e_i (the zero vector when i = M).</summary>
    /// <inheritdoc />
    public override Tensor Rate(Tensor i, ScalarType dtype = ScalarType.Float32)
    {
        ArgumentNullException.ThrowIfNull(i);
        using var scope = NewDisposeScope();
        var index = i.unsqueeze(-1);
        var rate = zeros(Shape(i), dtype, i.device);
        rate.narrow(-1, MaskIndex, 1).fill_(1);
        // Subtracting (not overwriting) at i makes the mask column 1 − 1 = 0 when i = M.
        rate.scatter_add_(-1, index, full(index.shape, -1, dtype, i.device));
        return rate.MoveToOuterDisposeScope();
    }

    /// <summary>transp_rate(i) = −e_i for i ≠ M; for i = M, 1 at every j ≠ M and 0 at M.</summary>
    /// <inheritdoc />
    public override Tensor TransposedRate(Tensor i, ScalarType dtype = ScalarType.Float32)
    {
        ArgumentNullException.ThrowIfNull(i);
        using var scope = NewDisposeScope();
        var index = i.unsqueeze(-1);
        // Start from 1 on masked rows (0 elsewhere), then add −1 at i: the mask column becomes 0.
        var rate = i.eq(MaskIndex).to_type(dtype).unsqueeze(-1).expand(Shape(i)).contiguous();
        rate.scatter_add_(-1, index, full(index.shape, -1, dtype, i.device));
        return rate.MoveToOuterDisposeScope();
    }

    /// <summary>
    /// Row i of e^{σQ}: for i ≠ M, e^{−σ} at i and 0 elsewhere; for i = M, 1 − e^{−σ} at every
    /// j ≠ M and 1 at M.
    /// </summary>
    /// <inheritdoc />
    public override Tensor TransposedTransition(Tensor i, ReadOnlySpan<double> sigma, ScalarType dtype = ScalarType.Float32)
    {
        CheckRows(i, sigma, nameof(sigma));
        using var scope = NewDisposeScope();
        var stay = RowScalars(Map(sigma, s => Math.Exp(-s)), 1, dtype, i.device);   // [B,1]
        var move = RowScalars(Map(sigma, MoveChance), 1, dtype, i.device);         // [B,1]
        var masked = i.eq(MaskIndex);                                              // [B,L]
        var zero = zeros(1, dtype, i.device);
        var row = where(masked, move, zero).unsqueeze(-1).expand(Shape(i)).contiguous();
        var diagonal = where(masked, ones(1, dtype, i.device), stay).unsqueeze(-1); // [B,L,1]
        row.scatter_(-1, i.unsqueeze(-1), diagonal);
        return row.MoveToOuterDisposeScope();
    }

    /// <summary>x_t = M where <c>uniforms &lt; 1 − e^{−σ̄_b}</c>, else x0 (spec §3.2). <paramref name="randomTokens"/> is ignored.</summary>
    /// <inheritdoc />
    public override Tensor SampleTransition(Tensor x0, ReadOnlySpan<double> sigma, Tensor uniforms, Tensor? randomTokens = null)
    {
        CheckRows(x0, sigma, nameof(sigma));
        ArgumentNullException.ThrowIfNull(uniforms);
        using var scope = NewDisposeScope();
        var moveChance = RowScalars(Map(sigma, MoveChance), 1, uniforms.dtype, uniforms.device);
        var moved = uniforms.lt(moveChance).to(x0.device);
        return x0.masked_fill(moved, MaskIndex).MoveToOuterDisposeScope();
    }

    /// <summary>
    /// For j ≠ M: e^{Δσ} s_j; for M: e^{Δσ} s_M + (1 − e^{Δσ}) Σ_k s_k, the sum over all states of
    /// the input s (SEDD Absorbing.staggered_score).
    /// </summary>
    /// <inheritdoc />
    public override Tensor StaggeredScore(Tensor score, ReadOnlySpan<double> dsigma)
    {
        CheckStates(score, nameof(score));
        CheckRows(score, dsigma, nameof(dsigma));
        using var scope = NewDisposeScope();
        var grow = RowScalars(Map(dsigma, Math.Exp), 2, score.dtype, score.device);                 // [B,1,1]
        var leak = RowScalars(Map(dsigma, d => -SeddMath.Expm1(d)), 2, score.dtype, score.device);  // 1 − e^{Δσ}
        var extra = score.sum(-1, keepdim: true).mul_(leak);                                         // [B,L,1]
        var result = score.mul(grow);
        result.narrow(-1, MaskIndex, 1).add_(extra);
        return result.MoveToOuterDisposeScope();
    }

    /// <summary>All positions = M.</summary>
    /// <inheritdoc />
    public override Tensor SampleLimit(long[] shape, Generator generator, Device? device = null) =>
        full(shape, MaskIndex, ScalarType.Int64, device ?? generator?.device ?? CPU);

    /// <summary>
    /// Spec §3.2: 0 where x ≠ M; where x = M, with a = 1/expm1s(σ̄),
    /// Σ_{j&lt;V} exp(ℓ_j) − a ℓ_{x0} + K(a). Only the masked rows of <paramref name="logScore"/> are
    /// gathered, and of those only the real-token columns are exponentiated: the loss never reads the
    /// network output at unmasked positions or at the mask column (SEDD indexes the same way).
    /// </summary>
    /// <inheritdoc />
    public override Tensor ScoreEntropy(Tensor logScore, ReadOnlySpan<double> sigma, Tensor x, Tensor x0)
    {
        CheckStates(logScore, nameof(logScore));
        CheckRows(x, sigma, nameof(sigma));
        ArgumentNullException.ThrowIfNull(x0);
        using var scope = NewDisposeScope();
        long batch = x.shape[0], length = x.shape[1];
        var dtype = logScore.dtype;
        var device = logScore.device;

        // Per-sequence constants in double (goldens README (a)).
        var ratio = Map(sigma, s => 1 / SeddMath.Expm1s(s));
        var ratioRows = RowScalars(ratio, 1, dtype, device).expand(batch, length).reshape(-1);
        var constRows = RowScalars(Map(ratio, SeddMath.K), 1, dtype, device).expand(batch, length).reshape(-1);

        var rows = x.reshape(-1).eq(MaskIndex).nonzero().squeeze(1);                 // [M] masked positions
        var target = x0.reshape(-1).index_select(0, rows);                            // [M] x0 there
        // The [M,V] copy of the real-token columns is exponentiated in place: one allocation, and
        // index_select's backward needs no values.
        var positive = logScore.reshape(-1, Dim).narrow(1, 0, Vocab).index_select(0, rows).exp_().sum(1); // Σ_{j<V} exp(ℓ_j)
        var atTarget = logScore.reshape(-1).index_select(0, rows.mul(Dim).add_(target)); // ℓ_{x0}, [M]
        var negative = atTarget.mul(ratioRows.index_select(0, rows));
        var entropy = positive.sub(negative).add(constRows.index_select(0, rows));    // [M]

        var result = zeros(batch * length, dtype, device).index_add(0, rows, entropy, 1).view(batch, length);
        return result.MoveToOuterDisposeScope();
    }

    long[] Shape(Tensor i) => [.. i.shape, Dim];
}
