namespace Sedd.Runtime.Sampling;

/// <summary>
/// The reverse-time grid of the sampler driver (SEDD sampling.get_pc_sampler; spec §6.1):
/// τ = linspace(1, eps, steps + 1) and the step size Δt = (1 − eps) / steps.
/// </summary>
public static class TimeGrid
{
    /// <summary>
    /// Fills τ_0 … τ_steps = linspace(1, eps, steps + 1), evaluated as torch.linspace does (from the
    /// start for the first half, from the end for the second), so τ_0 = 1 and τ_steps = eps exactly.
    /// </summary>
    /// <param name="timesteps">Destination of length steps + 1 ≥ 2.</param>
    /// <param name="eps">Final time, 0 &lt; eps &lt; 1 (default 1e-5).</param>
    public static void Fill(Span<double> timesteps, double eps)
    {
        int n = timesteps.Length;
        if (n < 2) throw new ArgumentException($"the time grid needs steps + 1 ≥ 2 points, got {n}", nameof(timesteps));
        const double start = 1.0;
        double step = (eps - start) / (n - 1);
        int halfway = n / 2;
        for (int i = 0; i < n; i++)
            timesteps[i] = i < halfway ? start + step * i : eps - step * (n - 1 - i);
    }

    /// <summary>Δt = (1 − eps) / steps, the step every predictor call uses.</summary>
    /// <param name="steps">Number of predictor steps, ≥ 1.</param>
    /// <param name="eps">Final time.</param>
    public static double StepSize(int steps, double eps) => (1 - eps) / steps;
}
