namespace Sedd.Runtime.Noise;

/// <summary>
/// A noise schedule: the total noise σ̄(t) and its rate σ'(t) = dσ̄/dt for t ∈ [0, 1]
/// (SEDD noise_lib.Noise; spec §2). Evaluated in double; callers cast afterwards.
/// </summary>
public abstract class NoiseSchedule
{
    /// <summary>Name used in configs and manifests ("loglinear" or "geometric").</summary>
    public abstract string Kind { get; }

    /// <summary>Total (integrated) noise σ̄(t).</summary>
    /// <param name="t">Diffusion time in [0, 1].</param>
    public abstract double TotalNoise(double t);

    /// <summary>Noise rate σ'(t) = dσ̄/dt.</summary>
    /// <param name="t">Diffusion time in [0, 1].</param>
    public abstract double RateNoise(double t);

    /// <summary>Largest total noise, σ̄(1).</summary>
    public double MaxTotalNoise => TotalNoise(1.0);

    /// <summary>The pair (σ̄(t), σ'(t)), as SEDD's schedule object returns it.</summary>
    public (double Sigma, double DSigma) At(double t) => (TotalNoise(t), RateNoise(t));

    /// <summary>
    /// Builds a schedule from its config (SEDD noise_lib.get_noise). The log-linear schedule
    /// ignores <paramref name="sigmaMin"/> and <paramref name="sigmaMax"/> and always uses ε = 1e-3,
    /// as the reference factory does.
    /// </summary>
    /// <param name="kind">"loglinear" or "geometric".</param>
    /// <param name="sigmaMin">Geometric σ_min.</param>
    /// <param name="sigmaMax">Geometric σ_max.</param>
    public static NoiseSchedule Create(string kind, double sigmaMin = 1e-4, double sigmaMax = 20) => kind switch
    {
        "loglinear" => new LogLinearNoise(),
        "geometric" => new GeometricNoise(sigmaMin, sigmaMax),
        _ => throw new ArgumentException($"unknown noise schedule '{kind}' (expected loglinear or geometric)", nameof(kind)),
    };
}
