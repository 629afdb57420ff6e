namespace Sedd.Runtime.Sampling;

/// <summary>
/// What a score function declares about its dependence on the noise level. A time-independent
/// network (the trainer's option, RADD) conditions on nothing but the tokens, so its log-score at two
/// noise levels differs only by spec §5.7 step 1: ln expm1s(σ̄_old) − ln expm1s(σ̄_new) on every entry
/// except each position's own token, which stays 0 (scale_by_sigma), or not at all. The sampler then
/// skips a network call when no token changed since the previous one (exact caching).
/// </summary>
public interface IScoreFunctionTraits
{
    /// <summary>The network ignores σ̄ except through §5.7's output scaling.</summary>
    bool TimeIndependent { get; }

    /// <summary>The output includes −ln expm1s(σ̄) (spec §5.7 step 1; absorb).</summary>
    bool ScaleBySigma { get; }
}
