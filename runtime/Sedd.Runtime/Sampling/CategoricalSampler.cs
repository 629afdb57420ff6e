namespace Sedd.Runtime.Sampling;

/// <summary>
/// Draws one index from unnormalised weights (spec §6.2). Weights may contain zeros and negative
/// entries: both behave as zero and are never chosen while some weight is positive (spec §10,
/// "Sampler weights are unnormalised and can be negative"). Implementations are stateless and safe to
/// call from several threads at once; all randomness comes from the stream passed in.
/// </summary>
public abstract class CategoricalSampler
{
    /// <summary>Draws k with probability max(w_k, 0) / Σ max(w, 0).</summary>
    /// <param name="weights">Unnormalised weights, read in double so that large vocabularies keep their tail mass.</param>
    /// <param name="row">
    /// Flat index b·L + l of the position being drawn. Exact samplers ignore it; a replay sampler
    /// (tests) uses it to look up stored uniforms.
    /// </param>
    /// <param name="random">The row's random stream (see <see cref="Xoshiro256StarStar.ForRow"/>).</param>
    /// <returns>The chosen index in [0, weights.Length).</returns>
    public abstract int Sample(ReadOnlySpan<double> weights, int row, ref Xoshiro256StarStar random);

    /// <summary>Builds a sampler by name: "inverse-cdf" (fast, default) or "race" (SEDD's exponential race).</summary>
    /// <param name="name">Sampler name.</param>
    public static CategoricalSampler Create(string name) => name switch
    {
        "inverse-cdf" => new InverseCdfSampler(),
        "race" => new ExponentialRaceSampler(),
        _ => throw new SeddException($"unknown categorical sampler '{name}' (expected inverse-cdf or race)", SeddException.Usage),
    };
}
