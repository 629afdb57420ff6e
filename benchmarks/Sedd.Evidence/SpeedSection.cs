using static Sedd.Evidence.EvidenceReport;

namespace Sedd.Evidence;

/// <summary>
/// Section 3: wall time per sample at each step count (measured while generating section 2's
/// samples) against the AR baseline generating the same length with its KV cache, same machine,
/// same process; network calls made and saved by exact caching (spec §5.7: time-independent
/// packages only); the share of sampling time spent inside ONNX Runtime.
/// </summary>
static class SpeedSection
{
    /// <summary>Appends the speed table.</summary>
    /// <param name="report">Report.</param>
    /// <param name="rows">Section 2's rows (they carry the timings).</param>
    /// <param name="timeIndependent">Whether the package is time-independent (caching applies).</param>
    public static void Write(EvidenceReport report, IReadOnlyList<QualityRow> rows, bool timeIndependent)
    {
        var ar = rows.Single(r => r.Source == "ar");
        var sedd = rows.Where(r => r.Source == "sedd").ToList();
        report.Data("speed", new
        {
            ar_seconds_per_sample = ar.SecondsPerSample,
            length = ar.Length,
            time_independent = timeIndependent,
            sedd = sedd.Select(r => new { r.Predictor, r.Steps, r.SecondsPerSample, r.NetworkCalls, r.CachedCalls, r.NetworkShare, ratio_to_ar = r.SecondsPerSample / ar.SecondsPerSample }),
        });
        var table = Table(["sampler", "steps", "s / sample", "× AR (KV cache)", "network calls per run", "saved by caching", "time in ONNX Runtime"],
            sedd.Select(r => (IReadOnlyList<string>)
            [
                $"SEDD {r.Predictor}", r.Steps.ToString(C), F(r.SecondsPerSample, "F3"), F(r.SecondsPerSample / ar.SecondsPerSample) + "×",
                F(r.NetworkCalls, "F1"), timeIndependent ? F(r.CachedCalls, "F1") : "n/a (time-dependent)", F(100 * (r.NetworkShare ?? double.NaN), "F0") + " %",
            ]).Append(
            [
                "AR, KV cache", $"{ar.Length} (1 per token)", F(ar.SecondsPerSample, "F3"), "1.00×", ar.Length.ToString(C), "—", "—",
            ]));
        var note = $"Every sample is {ar.Length} tokens, generated in batches on the CPU. SEDD runs the exported ONNX graph (ONNX Runtime); " +
            "the AR baseline runs in TorchSharp (libtorch) with a KV cache, so the ratio mixes two engines as a user would meet them. " +
            "A SEDD run makes steps + 1 network calls (the last one denoises), each over the whole sequence" +
            (timeIndependent
                ? "; the package is time-independent, so a call is skipped whenever no token changed since the previous one (exact caching)."
                : "; the package is time-dependent, so exact caching does not apply.") +
            " Timings are only as good as the machine was quiet: the header gives the load average at the start. On a machine shared with other jobs, " +
            "`--threads 1` avoids oversubscription, which hurts libtorch's many small per-token operations far more than ONNX Runtime's few large ones.";
        report.Markdown.AppendLine("## 3. Speed").AppendLine().Append(table).AppendLine().AppendLine(note).AppendLine()
            .AppendLine("![seconds per sample against steps](speed.png)").AppendLine();
        report.Readme.AppendLine("**Speed** (wall time per sample, same machine and run):").AppendLine().Append(table).AppendLine();
    }
}
