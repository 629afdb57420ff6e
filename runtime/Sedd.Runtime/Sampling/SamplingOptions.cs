namespace Sedd.Runtime.Sampling;

/// <summary>The reverse step used by the sampler driver (spec §6.3, §6.4).</summary>
public enum Predictor
{
    /// <summary>First-order τ-leaping: p = e_x + Δt σ' reverse_rate (spec §6.3); the training-config default.</summary>
    Euler,

    /// <summary>Tweedie τ-leaping: p = staggered_score ⊙ transp_transition (spec §6.4); the paper's and the scripts' choice.</summary>
    Analytic,
}

/// <summary>Settings of one sampling run (spec §6.1, defaults of run_sample.py, spec §6.7).</summary>
public sealed record SamplingOptions
{
    /// <summary>Reverse step. Default analytic, as run_sample.py.</summary>
    public Predictor Predictor { get; init; } = Predictor.Analytic;

    /// <summary>Predictor calls (network evaluations, plus one for the denoiser), ≥ 1. Default 1024, as run_sample.py.</summary>
    public int Steps { get; init; } = 1024;

    /// <summary>Final time of the grid linspace(1, eps, steps + 1). Default 1e-5.</summary>
    public double Eps { get; init; } = 1e-5;

    /// <summary>Whether to finish with the denoising step of spec §6.5 (no mask survives for absorb). Default on.</summary>
    public bool Denoise { get; init; } = true;

    /// <summary>
    /// Threads that draw rows in parallel; 0 means one per processor. Results do not depend on it:
    /// every row draws from its own stream (seed, step, row). Default 1.
    /// </summary>
    public int Threads { get; init; } = 1;

    /// <summary>
    /// Exact caching for time-independent networks (<see cref="IScoreFunctionTraits"/>): skip the
    /// network call when no token changed since the previous one and shift the cached log-score
    /// instead. Ignored for other networks. Default on.
    /// </summary>
    public bool CacheScores { get; init; } = true;

    /// <summary>Checks ranges; throws a usage error naming the bad setting.</summary>
    public void Validate()
    {
        if (Steps < 1) throw new SeddException($"sampling needs at least 1 step, got {Steps}", SeddException.Usage);
        if (!(Eps > 0 && Eps < 1)) throw new SeddException($"sampling eps must lie in (0, 1), got {Eps}", SeddException.Usage);
        if (Threads < 0) throw new SeddException($"sampling threads must be ≥ 0 (0 = all processors), got {Threads}", SeddException.Usage);
        if (!Enum.IsDefined(Predictor)) throw new SeddException($"unknown predictor {Predictor} (expected euler or analytic)", SeddException.Usage);
    }
}
