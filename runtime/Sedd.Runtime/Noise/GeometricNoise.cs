namespace Sedd.Runtime.Noise;

/// <summary>
/// Geometric schedule (SEDD noise_lib.GeometricNoise; spec §2.1):
/// σ̄(t) = σ_min^(1−t) σ_max^t, σ'(t) = σ̄(t) ln(σ_max / σ_min).
/// </summary>
/// <param name="sigmaMin">σ_min (shipped config: 1e-4).</param>
/// <param name="sigmaMax">σ_max (shipped config: 20).</param>
public sealed class GeometricNoise(double sigmaMin = 1e-4, double sigmaMax = 20) : NoiseSchedule
{
    /// <summary>σ̄(0).</summary>
    public double SigmaMin { get; } = sigmaMin > 0 && sigmaMax > sigmaMin
        ? sigmaMin : throw new ArgumentOutOfRangeException(nameof(sigmaMin), $"geometric schedule needs 0 < sigma_min < sigma_max, got {sigmaMin} and {sigmaMax}");

    /// <summary>σ̄(1).</summary>
    public double SigmaMax { get; } = sigmaMax;

    /// <inheritdoc />
    public override string Kind => "geometric";

    /// <inheritdoc />
    public override double TotalNoise(double t) => Math.Pow(SigmaMin, 1 - t) * Math.Pow(SigmaMax, t);

    /// <inheritdoc />
    public override double RateNoise(double t) => TotalNoise(t) * (Math.Log(SigmaMax) - Math.Log(SigmaMin));
}
