namespace Sedd.Runtime.Sampling;

/// <summary>
/// The score network as the sampler sees it (spec §5.1): log-ratios log s_θ(x, σ̄) for every position
/// and state, with 0 at each position's own token. The ONNX session implements it; tests use toys.
/// </summary>
public interface IScoreFunction
{
    /// <summary>Evaluates the network once for a whole batch.</summary>
    /// <param name="tokens">Current tokens, row-major [B, L].</param>
    /// <param name="sigma">Total noise σ̄(t) per sequence, [B] (the model input is σ̄, never t).</param>
    /// <param name="logScore">Destination, row-major [B, L, D]; overwritten completely.</param>
    void Score(ReadOnlySpan<long> tokens, ReadOnlySpan<float> sigma, Span<float> logScore);
}
