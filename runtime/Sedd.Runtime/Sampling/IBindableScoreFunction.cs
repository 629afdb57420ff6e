namespace Sedd.Runtime.Sampling;

/// <summary>
/// A score function that can work in place on the sampler's own buffers. <see cref="DiffusionSampler"/>
/// calls <see cref="Bind"/> with the arrays it will pass to every <see cref="IScoreFunction.Score"/>
/// call, and <see cref="BindStaging"/> when it also gathers scattered sequences into a staging batch;
/// an ONNX session then wraps them in tensors once and writes its output straight into the bound
/// buffers, so a step copies and allocates nothing inside the network call. One set is bound at a time:
/// several samplers may share one network, and each binds its buffers again (<see cref="IsBoundTo"/>)
/// when it evaluates after another one did.
/// </summary>
public interface IBindableScoreFunction : IScoreFunction
{
    /// <summary>Receives the sampler's buffers (replacing any earlier binding). Later <c>Score</c> calls on these same arrays may skip every copy.</summary>
    /// <param name="tokens">Token buffer, row-major [B, L].</param>
    /// <param name="sigma">σ̄ buffer, [B].</param>
    /// <param name="logScore">Output buffer, row-major [B, L, D].</param>
    /// <param name="batch">B.</param>
    /// <param name="length">L.</param>
    void Bind(long[] tokens, float[] sigma, float[] logScore, int batch, int length);

    /// <summary>
    /// Receives a second set of buffers, used from its first sequence on (calls on its first n
    /// sequences, n ≤ <paramref name="batch"/>), beside those of <see cref="Bind"/>.
    /// </summary>
    /// <param name="tokens">Staging tokens, row-major [S, L].</param>
    /// <param name="sigma">Staging σ̄, [S].</param>
    /// <param name="logScore">Staging output, row-major [S, L, D].</param>
    /// <param name="batch">S, the staging capacity in sequences.</param>
    /// <param name="length">L.</param>
    void BindStaging(long[] tokens, float[] sigma, float[] logScore, int batch, int length);

    /// <summary>Whether the buffers of the last <see cref="Bind"/> are these tokens' (so calls on them skip every copy).</summary>
    /// <param name="tokens">A sampler's token buffer.</param>
    bool IsBoundTo(long[] tokens);
}
