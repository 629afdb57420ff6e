namespace Sedd.Runtime.Sampling;

/// <summary>
/// A score function that can work in place on the sampler's own buffers. <see cref="DiffusionSampler"/>
/// calls <see cref="Bind"/> once, from its constructor, with the arrays it will pass to every
/// <see cref="IScoreFunction.Score"/> call; an ONNX session then wraps them in tensors once and writes
/// its output straight into the sampler's log-score buffer, so a step copies and allocates nothing.
/// </summary>
public interface IBindableScoreFunction : IScoreFunction
{
    /// <summary>Receives the sampler's buffers. Later <c>Score</c> calls on these same arrays may skip every copy.</summary>
    /// <param name="tokens">Token buffer, row-major [B, L].</param>
    /// <param name="sigma">σ̄ buffer, [B].</param>
    /// <param name="logScore">Output buffer, row-major [B, L, D].</param>
    /// <param name="batch">B.</param>
    /// <param name="length">L.</param>
    void Bind(long[] tokens, float[] sigma, float[] logScore, int batch, int length);
}
