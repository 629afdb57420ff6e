namespace Sedd.Exporter.Verification;

/// <summary>A forward pass the exported graph is compared with (issue 3 point 4).</summary>
public interface IReferenceForward : IDisposable
{
    /// <summary>Manifest name of the reference: "torchsharp" or "golden".</summary>
    string Name { get; }

    /// <summary>log-score, row-major [batch, length, states], for indices [batch, length] and σ̄ [batch].</summary>
    /// <param name="indices">Token ids, row-major.</param>
    /// <param name="sigma">σ̄ per row.</param>
    /// <param name="length">Sequence length.</param>
    float[] Forward(long[] indices, float[] sigma, int length);
}
