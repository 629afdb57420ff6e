namespace Sedd.Runtime.Sampling;

// First-hitting sampling (Zheng et al. 2024, "Masked diffusion models are secretly time-agnostic
// masked models and exploit inaccurate categorical sampling", arXiv 2409.02908) for absorbing graphs
// with time-independent networks. In the continuous-time reverse process each masked position unmasks
// independently at a time τ with P(τ < s | masked at t) = g(s)/g(t), g(t) = 1 − e^(−σ̄(t)). With m
// positions masked at t, the next one unmasks at the largest of m such times: g(s) = u^(1/m) g(t).
// Which one is uniform among the m, and its token is drawn from the model's conditional of the clean
// token, p(y) ∝ s_y over the real tokens. Every call thus unmasks exactly one token per sequence and no
// call is wasted; nothing is discretised, so the process is sampled exactly.
public sealed partial class DiffusionSampler
{
    double[] hitTime = [];
    bool[] wantsNetwork = [];
    int hittingCalls;

    /// <summary>
    /// First-hitting only: the current time of every sequence (1 at the start, falling with every
    /// unmasked token). For a time-independent network it does not change the samples; it is the time
    /// the continuous-time process has reached.
    /// </summary>
    public ReadOnlySpan<double> HitTimes => hitTime;

    void InitializeFirstHitting()
    {
        hitTime = new double[Batch];
        wantsNetwork = new bool[Batch];
    }

    void ResetFirstHitting()
    {
        Array.Fill(hitTime, 1.0);
        hittingCalls = 0;
    }

    /// <summary>
    /// One first-hitting call: for every active sequence that still has masked positions, draws the next
    /// hitting time and position, evaluates the network once for all of them and draws one token each.
    /// </summary>
    /// <param name="cancellation">Checked before the call.</param>
    /// <returns>False when no sequence had a masked position left (nothing was done).</returns>
    public bool FirstHittingStep(CancellationToken cancellation = default)
    {
        if (Options.Predictor != Predictor.FirstHitting)
            throw new InvalidOperationException("FirstHittingStep needs a sampler built with Predictor.FirstHitting");
        cancellation.ThrowIfCancellationRequested();
        long start = System.Diagnostics.Stopwatch.GetTimestamp();
        Project();
        int n = 0, length = Length;
        long mask = ((AbsorbingSamplingGraph)graph).Mask;
        ulong call = (ulong)hittingCalls;
        for (int b = 0; b < Batch; b++)
        {
            wantsNetwork[b] = false;
            if (!active[b]) continue;
            int m = 0;
            for (int r = b * length, end = r + length; r < end; r++)
                if (tokens[r] == mask && !fixedPosition[r]) m++;
            if (m == 0) continue;
            var setup = setups[b];
            var random = Xoshiro256StarStar.ForRow(setup.Seed, call, ulong.MaxValue - setup.Index);
            hitTime[b] = NextHittingTime(hitTime[b], m, random.NextDouble());
            int j = random.NextInt(m);
            for (int r = b * length, end = r + length; r < end; r++)
            {
                if (tokens[r] != mask || fixedPosition[r]) continue;
                if (j-- == 0) { rows[n++] = r; break; }
            }
            targetSigma[b] = schedule.TotalNoise(Math.Max(hitTime[b], 1e-12));
            wantsNetwork[b] = true;
        }
        if (n == 0) return false;
        Evaluate(wantsNetwork);
        DrawCollected(RowKind.FirstHitting, 1, call, n);
        hittingCalls++;
        stepTicks += System.Diagnostics.Stopwatch.GetTimestamp() - start;
        return true;
    }

    // Solves g(s) = u^(1/m) g(t) for s in (0, t) with g(t) = 1 − e^(−σ̄(t)), by bisection (g is increasing
    // for every schedule; for the log-linear one g is linear and s = u^(1/m) t).
    double NextHittingTime(double t, int m, double u)
    {
        double target = Math.Pow(u, 1.0 / m) * G(t);
        double lo = 0, hi = t;
        for (int k = 0; k < 64 && hi - lo > 1e-15 * t; k++)
        {
            double mid = 0.5 * (lo + hi);
            if (G(mid) < target) lo = mid; else hi = mid;
        }
        return 0.5 * (lo + hi);

        double G(double time) => -SeddMath.Expm1(-schedule.TotalNoise(time));
    }
}
