namespace Sedd.Runtime.Noise;

/// <summary>
/// Log-linear schedule (SEDD noise_lib.LogLinearNoise; spec §2.2):
/// σ̄(t) = −ln(1 − (1 − ε) t), σ'(t) = (1 − ε) / (1 − (1 − ε) t).
/// The masking probability 1 − e^(−σ̄) = (1 − ε) t is linear in t.
/// </summary>
/// <param name="eps">ε; the reference factory always uses 1e-3.</param>
public sealed class LogLinearNoise(double eps = 1e-3) : NoiseSchedule
{
    /// <summary>ε: at t = 1 each token is still unmasked with probability ε.</summary>
    public double Eps { get; } = eps;

    /// <inheritdoc />
    public override string Kind => "loglinear";

    /// <inheritdoc />
    public override double TotalNoise(double t) => -SeddMath.LogP1(-(1 - Eps) * t);

    /// <inheritdoc />
    public override double RateNoise(double t) => (1 - Eps) / (1 - (1 - Eps) * t);

}
