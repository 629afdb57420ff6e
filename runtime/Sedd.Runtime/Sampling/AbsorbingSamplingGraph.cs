using System.Numerics.Tensors;

namespace Sedd.Runtime.Sampling;

/// <summary>
/// Absorbing graph for sampling (SEDD graph_lib.Absorbing; spec §3.2): D = V + 1 states, the mask
/// M = V last. Real tokens never move in reverse, so only masked positions have non-trivial weights;
/// the driver samples masked positions only (<see cref="CanChange"/>).
/// </summary>
public sealed class AbsorbingSamplingGraph : SamplingGraph
{
    /// <summary>An absorbing graph over <paramref name="realTokens"/> real tokens plus the mask.</summary>
    /// <param name="realTokens">V, the vocabulary without the mask.</param>
    public AbsorbingSamplingGraph(int realTokens) : base(checked(realTokens + 1)) => Mask = realTokens;

    /// <summary>The mask id M = V.</summary>
    public int Mask { get; }

    /// <inheritdoc />
    public override int Tokens => Mask;

    /// <inheritdoc />
    public override int DenoiseWidth => Mask;

    /// <inheritdoc />
    public override string Kind => "absorb";

    /// <inheritdoc />
    public override bool CanChange(long token) => token == Mask;

    /// <inheritdoc />
    public override void SampleLimit(Span<long> tokens, ulong seed, ulong firstRow = 0) => tokens.Fill(Mask);

    /// <inheritdoc />
    public override void ReverseRate(long x, ReadOnlySpan<double> score, Span<double> rate)
    {
        CheckRow(score, rate, Dimension);
        CheckToken(x);
        rate.Clear();
        if (x != Mask) return; // transp_rate(x) = −e_x, zeroed on the diagonal
        // R_y = s_y for y ≠ M, R_M = −Σ_{y≠M} s_y (spec §3.2).
        score[..Mask].CopyTo(rate);
        rate[Mask] = -TensorPrimitives.Sum(score[..Mask]);
    }

    /// <inheritdoc />
    public override void StaggeredScore(ReadOnlySpan<double> score, double dsigma, Span<double> staggered)
    {
        CheckRow(score, staggered, Dimension);
        // e^Δσ s_j for every j, and (1 − e^Δσ) Σ_all s added at the mask; the sum is taken from the
        // input before scaling, as graph_lib.Absorbing.staggered_score does.
        double e = Math.Exp(dsigma);
        double total = TensorPrimitives.Sum(score);
        TensorPrimitives.Multiply(score, e, staggered);
        staggered[Mask] += (1 - e) * total;
    }

    /// <inheritdoc />
    public override void TransposedTransition(long x, double sigma, Span<double> row)
    {
        if (row.Length != Dimension) throw new ArgumentException($"expected a row of {Dimension}, got {row.Length}", nameof(row));
        CheckToken(x);
        if (x != Mask)
        {
            // A real token is still itself with probability e^(−σ).
            row.Clear();
            row[(int)x] = Math.Exp(-sigma);
            return;
        }
        // The mask was some real token with probability 1 − e^(−σ) each, and the mask stays.
        row.Fill(-SeddMath.Expm1(-sigma));
        row[Mask] = 1;
    }

    /// <inheritdoc />
    public override void EulerWeights(long x, ReadOnlySpan<double> score, double rateStep, Span<double> weights)
    {
        CheckRow(score, weights, Dimension);
        CheckToken(x);
        if (x != Mask)
        {
            OneHot(x, weights);
            return;
        }
        // Spec §6.3: p_y = Δt σ' s_y, p_M = 1 − Δt σ' Σ_{y≠M} s_y (negative for large steps).
        var real = score[..Mask];
        TensorPrimitives.Multiply(real, rateStep, weights[..Mask]);
        weights[Mask] = 1 + rateStep * -TensorPrimitives.Sum(real);
    }

    /// <inheritdoc />
    public override void AnalyticWeights(long x, ReadOnlySpan<double> score, double expm1Dsigma, Span<double> weights)
    {
        CheckRow(score, weights, Dimension);
        CheckToken(x);
        if (x != Mask)
        {
            // staggered_x · e^(−Δσ) = e^Δσ s_x e^(−Δσ) = s_x; every other column is multiplied by 0.
            OneHot(x, weights);
            weights[(int)x] = score[(int)x];
            return;
        }
        // Spec §6.4: p_y = (e^Δσ − 1) s_y; p_M = e^Δσ s_M + (1 − e^Δσ) Σ_all s = s_M − (e^Δσ − 1) Σ_{y≠M} s_y,
        // the cancellation-free form of the same number (s_M = 1 from the model's zero at x).
        var real = score[..Mask];
        TensorPrimitives.Multiply(real, expm1Dsigma, weights[..Mask]);
        weights[Mask] = score[Mask] - expm1Dsigma * TensorPrimitives.Sum(real);
    }

    /// <inheritdoc />
    public override void DenoiseWeights(long x, ReadOnlySpan<double> score, double expm1Sigma, Span<double> weights)
    {
        CheckRow(score, weights, DenoiseWidth);
        CheckToken(x);
        if (x != Mask)
        {
            OneHot(x, weights);
            weights[(int)x] = score[(int)x];
            return;
        }
        // Spec §6.5: the analytic step from σ̄(eps) to 0 restricted to real tokens, p_y = (e^σ − 1) s_y.
        TensorPrimitives.Multiply(score[..Mask], expm1Sigma, weights);
    }

    static void OneHot(long x, Span<double> weights)
    {
        weights.Clear();
        weights[(int)x] = 1;
    }
}
