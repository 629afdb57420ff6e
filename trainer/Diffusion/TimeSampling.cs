using Sedd.Runtime;

namespace Sedd.Trainer.Diffusion;

/// <summary>
/// How the training loss draws the uniforms u_b behind t_b = (1 − ε) u_b + ε across a micro-batch of
/// B sequences (config <c>training.time_sampling</c>). Either way each u_b is marginally U[0, 1), so the
/// batch-mean loss stays an unbiased estimate of the same integral (spec §4.2).
/// </summary>
public enum TimeSampling
{
    /// <summary>
    /// "uniform" (the default, SEDD's; spec §4.1 step 1): B independent float64 uniforms from the
    /// generator, in one call.
    /// </summary>
    Uniform,

    /// <summary>
    /// "stratified" (low-discrepancy): one u0 ~ U[0, 1) per micro-batch from the generator and
    /// u_b = frac(u0 + b/B), so each interval [k/B, (k + 1)/B) holds exactly one u_b. A variance
    /// reduction of the batch-mean loss (the times cover [ε, 1) evenly instead of clumping); the
    /// sequences' t are no longer independent of each other.
    /// </summary>
    Stratified,
}

/// <summary>Config names of <see cref="TimeSampling"/> and the stratified draw.</summary>
public static class TimeSamplings
{
    /// <summary>"uniform" or "stratified" → the enum; anything else is a usage error naming the key.</summary>
    /// <param name="name">Config value.</param>
    public static TimeSampling Parse(string name) => name switch
    {
        "uniform" => TimeSampling.Uniform,
        "stratified" => TimeSampling.Stratified,
        _ => throw new SeddException($"training.time_sampling must be uniform or stratified, got '{name}'", SeddException.Usage),
    };

    /// <summary>u_b = frac(u0 + b/B) for b = 0 … B − 1: one value in each [k/B, (k + 1)/B), in double.</summary>
    /// <param name="u0">The micro-batch's one uniform, in [0, 1).</param>
    /// <param name="batch">B ≥ 1.</param>
    public static double[] Stratify(double u0, int batch)
    {
        if (!(u0 >= 0 && u0 < 1)) throw new ArgumentOutOfRangeException(nameof(u0), u0, "u0 must be in [0, 1)");
        ArgumentOutOfRangeException.ThrowIfLessThan(batch, 1);
        var u = new double[batch];
        for (int b = 0; b < batch; b++)
        {
            double v = u0 + (double)b / batch;       // in [0, 2)
            u[b] = v >= 1 ? v - 1 : v;               // exact (Sterbenz), so never below 0 nor at 1
        }
        return u;
    }
}
