using System.Diagnostics;

namespace Sedd.Compare;

/// <summary>Median and minimum of one contestant's timed runs, in milliseconds.</summary>
/// <param name="Name">Contestant.</param>
/// <param name="MedianMs">Median over the runs.</param>
/// <param name="MinMs">Fastest run.</param>
sealed record Timing(string Name, double MedianMs, double MinMs);

/// <summary>
/// Times several forwards against each other on a shared, noisy machine: after the warm-up, every round
/// runs each contestant once, in an order that rotates from round to round, so a burst of load from
/// another process lands on all of them alike instead of on whichever happened to run then.
/// </summary>
static class InterleavedTimer
{
    /// <summary>Runs <paramref name="warmup"/> untimed and <paramref name="runs"/> timed rounds.</summary>
    /// <param name="contestants">Name and one forward each.</param>
    /// <param name="warmup">Untimed rounds first (ORT plans memory and picks kernels on its first runs).</param>
    /// <param name="runs">Timed rounds.</param>
    /// <param name="cancel">Checked before every round.</param>
    public static Timing[] Run(IReadOnlyList<(string Name, Action Forward)> contestants, int warmup, int runs, CancellationToken cancel = default)
    {
        int n = contestants.Count;
        var samples = new double[n][];
        for (int k = 0; k < n; k++) samples[k] = new double[runs];
        for (int round = -warmup; round < runs; round++)
        {
            cancel.ThrowIfCancellationRequested();
            for (int j = 0; j < n; j++)
            {
                int k = (j + Math.Max(round, 0)) % n;
                // libtorch's OpenMP workers spin briefly after a parallel region; a short pause keeps
                // them from taking cores from the contestant that follows.
                Thread.Sleep(2);
                long start = Stopwatch.GetTimestamp();
                contestants[k].Forward();
                double ms = Stopwatch.GetElapsedTime(start).TotalMilliseconds;
                if (round >= 0) samples[k][round] = ms;
            }
        }
        var result = new Timing[n];
        for (int k = 0; k < n; k++)
        {
            Array.Sort(samples[k]);
            result[k] = new Timing(contestants[k].Name, Median(samples[k]), samples[k][0]);
        }
        return result;
    }

    static double Median(double[] sorted)
    {
        int m = sorted.Length / 2;
        return sorted.Length % 2 == 1 ? sorted[m] : (sorted[m - 1] + sorted[m]) / 2;
    }
}
