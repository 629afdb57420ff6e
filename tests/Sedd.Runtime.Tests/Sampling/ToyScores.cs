using Sedd.Runtime.Sampling;

namespace Sedd.Runtime.Tests.Sampling;

/// <summary>
/// Exact scores of data whose positions are independent with marginal p0 (absorbing graph):
/// the true ratio at a masked position is p_t(y)/p_t(M) = e^(−σ) p0_y / (1 − e^(−σ)) = p0_y / (e^σ − 1),
/// with log-ratio 0 at the mask itself (spec §3.2, §6.4). With these scores the analytic and Euler
/// samplers both end with every position distributed exactly as p0. Allocation-free.
/// </summary>
sealed class FactorizedAbsorbScore(double[] p0) : IScoreFunction
{
    public void Score(ReadOnlySpan<long> tokens, ReadOnlySpan<float> sigma, Span<float> logScore)
    {
        int v = p0.Length, d = v + 1, length = tokens.Length / sigma.Length;
        for (int r = 0; r < tokens.Length; r++)
        {
            var row = logScore.Slice(r * d, d);
            row.Clear();
            if (tokens[r] != v) continue; // real tokens never move; their scores are not read
            double shift = Math.Log(SeddMath.Expm1(sigma[r / length]));
            for (int y = 0; y < v; y++) row[y] = (float)(Math.Log(p0[y]) - shift);
        }
    }
}

/// <summary>
/// Exact scores of independent positions with marginal p0 under the uniform graph (spec §3.3):
/// p_t(y) = e^(−σ) p0_y + (1 − e^(−σ))/N and log s_y = ln p_t(y) − ln p_t(x). Allocation-free.
/// </summary>
sealed class FactorizedUniformScore(double[] p0) : IScoreFunction
{
    public void Score(ReadOnlySpan<long> tokens, ReadOnlySpan<float> sigma, Span<float> logScore)
    {
        int n = p0.Length, length = tokens.Length / sigma.Length;
        for (int r = 0; r < tokens.Length; r++)
        {
            double keep = Math.Exp(-sigma[r / length]);
            int x = (int)tokens[r];
            double logX = Math.Log(keep * p0[x] + (1 - keep) / n);
            var row = logScore.Slice(r * n, n);
            for (int y = 0; y < n; y++) row[y] = (float)(Math.Log(keep * p0[y] + (1 - keep) / n) - logX);
            row[x] = 0;
        }
    }
}

/// <summary>
/// Wraps a score function and records, at every network call, whether the fixed tokens are in place
/// (spec §6.6) and, for the absorbing graph, whether a real token ever changed (it must not, §3.2).
/// </summary>
sealed class StepWatch(IScoreFunction inner, InfillProjector projector, int length, int mask = -1) : IScoreFunction
{
    long[] previous = [];

    public int Calls { get; private set; }

    public int FixedViolations { get; private set; }

    public int RealTokenChanges { get; private set; }

    public void Score(ReadOnlySpan<long> tokens, ReadOnlySpan<float> sigma, Span<float> logScore)
    {
        for (int start = 0; start < tokens.Length; start += length)
            for (int k = 0; k < projector.Count; k++)
                if (tokens[start + projector.Positions[k]] != projector.Ids[k]) FixedViolations++;
        if (mask >= 0 && previous.Length == tokens.Length)
            for (int r = 0; r < tokens.Length; r++)
                if (previous[r] != mask && previous[r] != tokens[r]) RealTokenChanges++;
        previous = tokens.ToArray();
        Calls++;
        inner.Score(tokens, sigma, logScore);
    }
}

/// <summary>Returns NaN at one position: the driver must refuse to sample from it.</summary>
sealed class NaNScore(int badRow, int dimension) : IScoreFunction
{
    public void Score(ReadOnlySpan<long> tokens, ReadOnlySpan<float> sigma, Span<float> logScore)
    {
        logScore.Clear();
        logScore[badRow * dimension + 1] = float.NaN;
    }
}

/// <summary>
/// A time-independent absorbing toy with the output scaling of a real package: log s_y = ln p0_y −
/// ln expm1s(σ̄) at a masked position, 0 at the own token. Counts its calls and the sequences it saw.
/// </summary>
sealed class TimeIndependentAbsorbScore(double[] p0) : IScoreFunction, IScoreFunctionTraits
{
    public int Calls { get; private set; }

    public long Sequences { get; private set; }

    public bool TimeIndependent => true;

    public bool ScaleBySigma => true;

    public void Score(ReadOnlySpan<long> tokens, ReadOnlySpan<float> sigma, Span<float> logScore)
    {
        Calls++;
        Sequences += sigma.Length;
        int v = p0.Length, d = v + 1, length = tokens.Length / sigma.Length;
        for (int r = 0; r < tokens.Length; r++)
        {
            double shift = Math.Log(SeddMath.Expm1s(sigma[r / length]));
            var row = logScore.Slice(r * d, d);
            for (int y = 0; y < d; y++) row[y] = y < v ? (float)(Math.Log(p0[y]) - shift) : 0;
            row[(int)tokens[r]] = 0;
        }
    }
}
