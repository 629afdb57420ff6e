using System.Numerics.Tensors;

namespace Sedd.Runtime.Sampling;

/// <summary>
/// Uniform graph for sampling (SEDD graph_lib.Uniform; spec §3.3): D = N states, Q = (1/N)·11ᵀ − I.
/// Every position can move in every step.
/// </summary>
public sealed class UniformSamplingGraph : SamplingGraph
{
    /// <summary>A uniform graph over <paramref name="states"/> states.</summary>
    /// <param name="states">N.</param>
    public UniformSamplingGraph(int states) : base(states) { }

    /// <inheritdoc />
    public override int Tokens => Dimension;

    /// <inheritdoc />
    public override int DenoiseWidth => Dimension;

    /// <inheritdoc />
    public override string Kind => "uniform";

    /// <inheritdoc />
    public override bool CanChange(long token) => true;

    /// <inheritdoc />
    public override void SampleLimit(Span<long> tokens, ulong seed, ulong firstRow = 0)
    {
        for (int k = 0; k < tokens.Length; k++)
        {
            var random = Xoshiro256StarStar.ForRow(seed, ulong.MaxValue, firstRow + (ulong)k);
            tokens[k] = random.NextInt(Dimension);
        }
    }

    /// <inheritdoc />
    public override void ReverseRate(long x, ReadOnlySpan<double> score, Span<double> rate)
    {
        CheckRow(score, rate, Dimension);
        CheckToken(x);
        // R_y = s_y / N for y ≠ x, R_x = −Σ_{y≠x} s_y / N (spec §3.3).
        TensorPrimitives.Multiply(score, 1.0 / Dimension, rate);
        rate[(int)x] = 0;
        rate[(int)x] = -TensorPrimitives.Sum<double>(rate);
    }

    /// <inheritdoc />
    public override void StaggeredScore(ReadOnlySpan<double> score, double dsigma, Span<double> staggered)
    {
        CheckRow(score, staggered, Dimension);
        // Reference form ((p − 1) / (N p)) Σs + s / p with p = e^(−Δσ).
        double p = Math.Exp(-dsigma);
        double shift = (p - 1) / (Dimension * p) * TensorPrimitives.Sum(score);
        TensorPrimitives.Divide(score, p, staggered);
        TensorPrimitives.Add(staggered, shift, staggered);
    }

    /// <inheritdoc />
    public override void TransposedTransition(long x, double sigma, Span<double> row)
    {
        if (row.Length != Dimension) throw new ArgumentException($"expected a row of {Dimension}, got {row.Length}", nameof(row));
        CheckToken(x);
        // Q is symmetric: row x = column x = (1 − e^(−σ))/N off the diagonal, the rest on it.
        double off = -SeddMath.Expm1(-sigma) / Dimension;
        row.Fill(off);
        row[(int)x] = 1 - (Dimension - 1) * off;
    }

    /// <inheritdoc />
    public override void EulerWeights(long x, ReadOnlySpan<double> score, double rateStep, Span<double> weights)
    {
        CheckRow(score, weights, Dimension);
        CheckToken(x);
        // Spec §6.3: p_y = Δt σ' s_y / N (y ≠ x), p_x = 1 − Δt σ' Σ_{y≠x} s_y / N.
        TensorPrimitives.Multiply(score, rateStep / Dimension, weights);
        weights[(int)x] = 0;
        weights[(int)x] = 1 - TensorPrimitives.Sum<double>(weights);
    }

    /// <inheritdoc />
    public override void AnalyticWeights(long x, ReadOnlySpan<double> score, double expm1Dsigma, Span<double> weights) =>
        Tweedie(x, score, expm1Dsigma, weights);

    /// <inheritdoc />
    public override void DenoiseWeights(long x, ReadOnlySpan<double> score, double expm1Sigma, Span<double> weights) =>
        Tweedie(x, score, expm1Sigma, weights);

    // Spec §6.4: p = [e^Δσ s + (1 − e^Δσ) Σs / N] ⊙ T with T = row x of exp(Δσ Q); everything from
    // c = e^Δσ − 1 so that small steps do not cancel: e^Δσ = 1 + c, 1 − e^(−Δσ) = c / (1 + c).
    void Tweedie(long x, ReadOnlySpan<double> score, double c, Span<double> weights)
    {
        CheckRow(score, weights, Dimension);
        CheckToken(x);
        int n = Dimension;
        double e = 1 + c;
        double off = c / e / n;
        double shift = -c * TensorPrimitives.Sum(score) / n;
        double staggeredX = e * score[(int)x] + shift;
        TensorPrimitives.Multiply(score, e, weights);
        TensorPrimitives.Add(weights, shift, weights);
        TensorPrimitives.Multiply(weights, off, weights);
        weights[(int)x] = staggeredX * (1 - (n - 1) * off);
    }
}
