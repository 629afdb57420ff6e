namespace Sedd.Runtime.Sampling;

/// <summary>The reverse step used by the sampler driver.</summary>
public enum Predictor
{
    /// <summary>First-order τ-leaping: p = e_x + Δt σ' reverse_rate (SEDD's Euler predictor); the training-config default.</summary>
    Euler,

    /// <summary>Tweedie τ-leaping: p = staggered_score ⊙ transp_transition (SEDD's analytic predictor); the paper's and the scripts' choice.</summary>
    Analytic,

    /// <summary>
    /// First-hitting sampling (Zheng et al. 2024) for absorbing graphs with time-independent networks:
    /// each network call draws the time at which the next masked position unmasks, picks that position
    /// uniformly among the masked ones and draws its token, so every call unmasks exactly one token per
    /// sequence. It samples the continuous-time reverse process exactly; <see cref="SamplingOptions.Steps"/>
    /// does not apply (a sequence with m masked positions takes m calls).
    /// </summary>
    FirstHitting,
}

/// <summary>Settings of one sampling run (defaults of the authors' run_sample.py).</summary>
public sealed record SamplingOptions
{
    /// <summary>Reverse step. Default analytic, as run_sample.py.</summary>
    public Predictor Predictor { get; init; } = Predictor.Analytic;

    /// <summary>Predictor calls (network evaluations, plus one for the denoiser), ≥ 1. Default 1024, as run_sample.py. Ignored by first-hitting.</summary>
    public int Steps { get; init; } = 1024;

    /// <summary>Final time of the grid linspace(1, eps, steps + 1). Default 1e-5.</summary>
    public double Eps { get; init; } = 1e-5;

    /// <summary>Whether to finish with the final denoising step (no mask survives for absorb). Default on.</summary>
    public bool Denoise { get; init; } = true;

    /// <summary>
    /// Threads that draw rows in parallel; 0 means one per processor. Results do not depend on it:
    /// every row draws from its own stream (seed, step, row). Default 1.
    /// </summary>
    public int Threads { get; init; } = 1;

    /// <summary>
    /// Exact caching for time-independent networks (<see cref="IScoreFunctionTraits"/>): a sequence
    /// whose tokens did not change since its last evaluation is not evaluated again; its cached
    /// log-score is shifted to the new noise level instead. Ignored for other networks. Default on.
    /// </summary>
    public bool CacheScores { get; init; } = true;

    /// <summary>Checks ranges; throws a usage error naming the bad setting.</summary>
    public void Validate()
    {
        if (!Enum.IsDefined(Predictor)) throw new SeddException($"unknown predictor {Predictor} (expected euler, analytic or first-hitting)", SeddException.Usage);
        if (Steps < 1) throw new SeddException($"sampling needs at least 1 step, got {Steps}", SeddException.Usage);
        if (!(Eps > 0 && Eps < 1)) throw new SeddException($"sampling eps must lie in (0, 1), got {Eps}", SeddException.Usage);
        ThreadCount.Check(Threads, "sampling threads");
    }

    /// <summary>The predictor's name as the CLI and the server spell it.</summary>
    /// <param name="predictor">A predictor.</param>
    public static string Name(Predictor predictor) => predictor switch
    {
        Predictor.Euler => "euler",
        Predictor.Analytic => "analytic",
        Predictor.FirstHitting => "first-hitting",
        _ => predictor.ToString(),
    };

    /// <summary>Parses "euler", "analytic" or "first-hitting" (case-insensitive); a usage error otherwise.</summary>
    /// <param name="name">The name given.</param>
    /// <param name="option">The option that gave it, for the message.</param>
    public static Predictor Parse(string? name, string option = "--sampler") => name?.Trim().ToLowerInvariant() switch
    {
        "analytic" => Predictor.Analytic,
        "euler" => Predictor.Euler,
        "first-hitting" or "first_hitting" or "firsthitting" => Predictor.FirstHitting,
        _ => throw new SeddException($"{option}: unknown sampler '{TerminalText.Neutralise(name, keepNewlines: false)}'; expected euler, analytic or first-hitting", SeddException.Usage),
    };
}
