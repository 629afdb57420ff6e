using System.Numerics.Tensors;

namespace Sedd.Runtime.Sampling;

/// <summary>
/// How a position that unmasks chooses its token: temperature, top-k and top-p (nucleus) applied to
/// the model's distribution over the real tokens at that position, p(y) ∝ s_y. The probability that
/// the position unmasks in a step is never changed: the total reverse-rate mass of the step stays the
/// model's, only its split among tokens is reshaped. At temperature 1 with top-k and top-p off
/// (<see cref="Neutral"/>) the sampler takes exactly the path it takes without them.
/// </summary>
public readonly record struct TokenChoice
{
    // Stored as offsets from the neutral values, so that default(TokenChoice) is neutral.
    readonly double temperatureMinusOne;
    readonly double oneMinusTopP;

    /// <summary>No reshaping: temperature 1, top-k off, top-p 1 (also <c>default(TokenChoice)</c>).</summary>
    public static TokenChoice Neutral => default;

    /// <summary>Creates a choice; call <see cref="Validate()"/> before use.</summary>
    /// <param name="temperature">p(y)^(1/T), renormalised; T → 0 approaches the most likely token. Default 1.</param>
    /// <param name="topK">Keep only the k most likely tokens (0 = off).</param>
    /// <param name="topP">Keep the smallest set of most likely tokens whose mass reaches p (1 = off).</param>
    public TokenChoice(double temperature, int topK = 0, double topP = 1)
    {
        temperatureMinusOne = temperature - 1;
        TopK = topK;
        oneMinusTopP = 1 - topP;
    }

    /// <summary>Temperature T &gt; 0 (1 = the model's distribution).</summary>
    public double Temperature { get => temperatureMinusOne + 1; init => temperatureMinusOne = value - 1; }

    /// <summary>Top-k, ≥ 0 (0 = off).</summary>
    public int TopK { get; init; }

    /// <summary>Top-p in (0, 1] (1 = off).</summary>
    public double TopP { get => 1 - oneMinusTopP; init => oneMinusTopP = 1 - value; }

    /// <summary>Whether this choice leaves the model's distribution as it is.</summary>
    public bool IsNeutral => temperatureMinusOne == 0 && TopK == 0 && oneMinusTopP == 0;

    /// <summary>Checks ranges; a usage error naming the setting otherwise.</summary>
    public void Validate() => Validate("temperature", "top-k", "top-p");

    /// <summary>Checks ranges; a usage error naming the setting as the caller calls it otherwise.</summary>
    /// <param name="temperatureName">How the message names the temperature (e.g. --temperature).</param>
    /// <param name="topKName">How the message names top-k.</param>
    /// <param name="topPName">How the message names top-p.</param>
    public void Validate(string temperatureName, string topKName, string topPName)
    {
        if (!(Temperature > 0) || double.IsInfinity(Temperature) || Temperature < 1e-3 || Temperature > 100)
            throw new SeddException($"{temperatureName} must lie in [0.001, 100], got {Temperature}", SeddException.Usage) { Param = "temperature" };
        if (TopK < 0)
            throw new SeddException($"{topKName} must be ≥ 0 (0 = off), got {TopK}", SeddException.Usage) { Param = "top_k" };
        if (!(TopP > 0 && TopP <= 1))
            throw new SeddException($"{topPName} must lie in (0, 1], got {TopP}", SeddException.Usage) { Param = "top_p" };
    }

    /// <summary>
    /// Draws a token from the reshaped distribution over <paramref name="logScore"/> (log s_y of the real
    /// tokens; their common shift does not matter) with one uniform.
    /// </summary>
    /// <param name="logScore">Log-scores of the V real tokens.</param>
    /// <param name="uniform">A uniform in [0, 1).</param>
    /// <param name="scratch">Buffer of at least V doubles.</param>
    /// <returns>The token id.</returns>
    public int Draw(ReadOnlySpan<float> logScore, double uniform, Span<double> scratch)
    {
        var q = scratch[..logScore.Length];
        TensorPrimitives.ConvertChecked<float, double>(logScore, q);
        double max = TensorPrimitives.Max<double>(q);
        if (!double.IsFinite(max)) return TensorPrimitives.IndexOfMax(logScore);
        // q_y = exp((ℓ_y − max) / T): the largest entry is 1, so nothing overflows.
        TensorPrimitives.Subtract<double>(q, max, q);
        TensorPrimitives.Multiply<double>(q, 1 / Temperature, q);
        TensorPrimitives.Exp<double>(q, q);
        if (TopK > 0 && TopK < q.Length) KeepAbove(q, ThresholdForCount(q, TopK));
        if (TopP < 1) KeepAbove(q, ThresholdForMass(q, TopP * TensorPrimitives.Sum<double>(q)));
        return InverseCdfSampler.Draw(q, uniform);
    }

    static void KeepAbove(Span<double> q, double threshold)
    {
        for (int i = 0; i < q.Length; i++) if (q[i] < threshold) q[i] = 0;
    }

    // The largest τ with #{q ≥ τ} ≥ k, by bisection over the bit patterns of non-negative doubles
    // (monotone in the value): ties at τ are all kept.
    static double ThresholdForCount(ReadOnlySpan<double> q, int k)
    {
        long lo = 0, hi = BitConverter.DoubleToInt64Bits(TensorPrimitives.Max<double>(q));
        while (lo < hi)
        {
            long mid = lo + (hi - lo + 1) / 2;
            double tau = BitConverter.Int64BitsToDouble(mid);
            int count = 0;
            foreach (double v in q) if (v >= tau) count++;
            if (count >= k) lo = mid; else hi = mid - 1;
        }
        return BitConverter.Int64BitsToDouble(lo);
    }

    // The largest τ with Σ_{q ≥ τ} q ≥ mass: the smallest nucleus reaching the mass (ties kept).
    static double ThresholdForMass(ReadOnlySpan<double> q, double mass)
    {
        long lo = 0, hi = BitConverter.DoubleToInt64Bits(TensorPrimitives.Max<double>(q));
        while (lo < hi)
        {
            long mid = lo + (hi - lo + 1) / 2;
            double tau = BitConverter.Int64BitsToDouble(mid);
            double sum = 0;
            foreach (double v in q) if (v >= tau) sum += v;
            if (sum >= mass) lo = mid; else hi = mid - 1;
        }
        return BitConverter.Int64BitsToDouble(lo);
    }
}
