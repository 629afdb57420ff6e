using System.Diagnostics;
using Sedd.Runtime.Onnx;
using Sedd.Runtime.Package;
using Sedd.Runtime.Sampling;
using static Sedd.Evidence.EvidenceReport;

namespace Sedd.Evidence;

/// <summary>One setting of the caching table.</summary>
/// <param name="Name">"analytic, no caching", "analytic, per-sequence caching" or "first-hitting".</param>
/// <param name="RowsPerRun">Sequences evaluated by the network per run of the batch (mean over the repeats).</param>
/// <param name="CachedRowsPerRun">Sequences answered from the cache per run.</param>
/// <param name="CallsPerRun">Calls into ONNX Runtime per run.</param>
/// <param name="Seconds">Median wall time of a run.</param>
sealed record CachingRow(string Name, double RowsPerRun, double CachedRowsPerRun, double CallsPerRun, double Seconds);

/// <summary>The caching table and its checks.</summary>
/// <param name="Batch">Sequences per run.</param>
/// <param name="Steps">Analytic steps.</param>
/// <param name="Length">Tokens per sequence.</param>
/// <param name="Repeats">Timed runs per setting (different seeds; the same seeds for every setting).</param>
/// <param name="Rows">Off, on, and first-hitting when the graph allows it.</param>
/// <param name="SameSamples">Whether caching on gave exactly the samples of caching off, in every repeat (compared token by token).</param>
sealed record CachingResult(int Batch, int Steps, int Length, int Repeats, IReadOnlyList<CachingRow> Rows, bool SameSamples)
{
    /// <summary>Sequences evaluated without caching ÷ with it.</summary>
    public double RowRatio => Rows[0].RowsPerRun / Rows[1].RowsPerRun;

    /// <summary>Wall time without caching ÷ with it.</summary>
    public double TimeRatio => Rows[0].Seconds / Rows[1].Seconds;
}

/// <summary>
/// Section 3b: what exact per-sequence caching saves on the default model at batch 8, 128 analytic
/// steps, length 128: sequences evaluated and wall time with caching off and on, the same seeds, the
/// samples compared token by token; first-hitting beside them. Settings run interleaved, so load from
/// other processes falls on all of them alike. Time-dependent models have no caching: the section says so.
/// </summary>
static class CachingSection
{
    /// <summary>The setting the project's target is stated for.</summary>
    public const int Batch = 8, Steps = 128, Length = 128;

    /// <summary>Target: at least this many times fewer sequences evaluated with caching.</summary>
    public const double RowTarget = 1.5;

    /// <summary>Target: at least this many times less wall time with caching.</summary>
    public const double TimeTarget = 1.3;

    /// <summary>Measures the table; null when the model is time-dependent.</summary>
    public static CachingResult? Run(EvidenceOptions o, ModelPackage package, TextWriter log, CancellationToken cancel)
    {
        var m = package.Manifest;
        if (!m.Model.TimeIndependent) return null;
        int length = Math.Min(Length, m.Length);
        using var network = OnnxScoreNetwork.Open(package, new OnnxScoreNetworkOptions { Provider = ExecutionProvider.Cpu, Threads = o.Threads });
        var settings = new List<(string Name, SamplingOptions Options)>
        {
            ("analytic, no caching", new SamplingOptions { Predictor = Predictor.Analytic, Steps = Steps, CacheScores = false, Threads = o.Threads }),
            ("analytic, per-sequence caching", new SamplingOptions { Predictor = Predictor.Analytic, Steps = Steps, CacheScores = true, Threads = o.Threads }),
        };
        if (m.Graph.Type == "absorb") settings.Add(("first-hitting", new SamplingOptions { Predictor = Predictor.FirstHitting, Threads = o.Threads }));
        var samplers = settings.Select(s => new DiffusionSampler(m.CreateGraph(), m.CreateNoise(), network, Batch, length, s.Options)).ToArray();
        log.WriteLine($"[caching] batch {Batch}, {Steps} analytic steps, length {length}: {o.CachingRepeats} timed run(s) per setting after a warm-up ...");
        foreach (var s in samplers) s.Run((ulong)o.Seed, cancel); // warm-up
        int n = samplers.Length;
        var seconds = new double[n][];
        var rows = new double[n];
        var cached = new double[n];
        var calls = new double[n];
        for (int k = 0; k < n; k++) seconds[k] = new double[o.CachingRepeats];
        bool same = true;
        for (int r = 0; r < o.CachingRepeats; r++)
        {
            var tokens = new long[n][];
            for (int j = 0; j < n; j++)
            {
                int k = (j + r) % n; // rotating order
                cancel.ThrowIfCancellationRequested();
                var clock = Stopwatch.StartNew();
                tokens[k] = samplers[k].Run((ulong)(o.Seed + 1 + r), cancel).ToArray();
                seconds[k][r] = clock.Elapsed.TotalSeconds;
                rows[k] += samplers[k].RowEvaluations;
                cached[k] += samplers[k].CachedRows;
                calls[k] += samplers[k].NetworkCalls;
            }
            same &= tokens[0].AsSpan().SequenceEqual(tokens[1]);
        }
        var result = new CachingResult(Batch, Steps, length, o.CachingRepeats,
            [.. Enumerable.Range(0, n).Select(k => new CachingRow(settings[k].Name, rows[k] / o.CachingRepeats, cached[k] / o.CachingRepeats, calls[k] / o.CachingRepeats, Median(seconds[k])))],
            same);
        foreach (var row in result.Rows)
            log.WriteLine($"  {row.Name,-31} {F(row.RowsPerRun, "F0"),6} sequences evaluated, {F(row.CachedRowsPerRun, "F0"),5} from the cache, {F(row.Seconds, "F2")} s per run");
        log.WriteLine($"  caching: {F(result.RowRatio)}× fewer sequences evaluated, {F(result.TimeRatio)}× less wall time, " +
            (same ? "same samples" : "SAMPLES DIFFER (caching is meant to be exact: this is a bug)"));
        return result;
    }

    static double Median(double[] values)
    {
        var sorted = values.Order().ToArray();
        int mid = sorted.Length / 2;
        return sorted.Length % 2 == 1 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
    }

    /// <summary>Appends the caching table (or why there is none).</summary>
    public static void Write(EvidenceReport report, CachingResult? c)
    {
        report.Data("caching", c is null ? null : new { c.Batch, c.Steps, c.Length, c.Repeats, c.Rows, same_samples = c.SameSamples, row_ratio = c.RowRatio, time_ratio = c.TimeRatio });
        const string title = "**Per-sequence caching** (exact, time-independent models):";
        if (c is null)
        {
            const string none = "The package is time-dependent: its network reads the noise level, so no output can be reused and there is nothing to cache.";
            report.Markdown.AppendLine("## 3b. Per-sequence caching").AppendLine().AppendLine(none).AppendLine();
            report.Readme.AppendLine(title + " " + none).AppendLine();
            return;
        }
        var table = Table(["sampler", "sequences evaluated per run", "answered by the cache", "network calls per run", "wall s per run", "vs no caching"],
            c.Rows.Select((r, i) => (IReadOnlyList<string>)
            [
                r.Name, F(r.RowsPerRun, "F0"), F(r.CachedRowsPerRun, "F0"), F(r.CallsPerRun, "F0"), F(r.Seconds, "F2"),
                i == 0 ? "—" : $"{F(c.Rows[0].RowsPerRun / r.RowsPerRun)}× fewer sequences, {F(c.Rows[0].Seconds / r.Seconds)}× less time" +
                    (i == 1 ? (c.SameSamples ? ", same samples" : ", **samples differ**") : ""),
            ]));
        string Met(bool ok) => ok ? "met" : "not met";
        var note = $"Batch {c.Batch}, {c.Steps} analytic steps plus the final denoising step, length {c.Length}, the default model; the same seeds for every setting, " +
            $"{c.Repeats} timed run(s) each after a warm-up, interleaved (median wall time). With caching, a sequence whose tokens did not change since its last " +
            "evaluation is not evaluated again: its cached output is shifted to the new noise level, which is exact, and only the sequences that changed go through the " +
            "network (a smaller batch). " +
            (c.SameSamples
                ? "The samples with caching were compared token by token with those without it: the same."
                : "**The samples with caching differ from those without it; caching is meant to be exact.**") +
            $" Targets: at least {F(RowTarget, "F1")}× fewer sequences evaluated ({Met(c.RowRatio >= RowTarget)}: {F(c.RowRatio)}×) and at least " +
            $"{F(TimeTarget, "F1")}× less wall time ({Met(c.TimeRatio >= TimeTarget)}: {F(c.TimeRatio)}×). First-hitting unmasks one token per sequence per call, " +
            "so it evaluates every sequence once per generated token and none is ever answered by the cache.";
        report.Markdown.AppendLine("## 3b. Per-sequence caching").AppendLine().Append(table).AppendLine().AppendLine(note).AppendLine();
        report.Readme.AppendLine(title).AppendLine().Append(table).AppendLine().AppendLine(note).AppendLine();
    }
}
