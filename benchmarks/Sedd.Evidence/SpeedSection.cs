using static Sedd.Evidence.EvidenceReport;

namespace Sedd.Evidence;

/// <summary>
/// Section 3: wall time per sample at each step count and for first-hitting (measured while generating
/// section 2's samples) against the AR baseline generating the same length with its KV cache, same
/// machine, same process; the network work done (calls, sequences evaluated, sequences answered from the
/// exact per-sequence cache) and the host's share of the sampling steps.
/// </summary>
static class SpeedSection
{
    /// <summary>Appends the speed table.</summary>
    /// <param name="report">Report.</param>
    /// <param name="rows">Section 2's rows (they carry the timings).</param>
    /// <param name="timeIndependent">Whether the package is time-independent (caching applies).</param>
    /// <param name="batch">Sequences per sampler run.</param>
    /// <param name="simd">The SIMD width the host code ran with.</param>
    public static void Write(EvidenceReport report, IReadOnlyList<QualityRow> rows, bool timeIndependent, int batch, string simd)
    {
        var ar = rows.Single(r => r.Source == "ar");
        var sedd = rows.Where(r => r.Source == "sedd").ToList();
        report.Data("speed", new
        {
            ar_seconds_per_sample = ar.SecondsPerSample,
            length = ar.Length,
            batch,
            time_independent = timeIndependent,
            host_simd = simd,
            sedd = sedd.Select(r => new
            {
                r.Predictor, r.Steps, r.SecondsPerSample, r.NetworkCallsPerRun, r.RowsPerSample, r.CachedRowsPerSample, r.HostShare, r.NetworkShare,
                ratio_to_ar = r.SecondsPerSample / ar.SecondsPerSample,
            }),
        });
        var table = Table(["sampler", "steps", "s / sample", "× AR (KV cache)", "network calls per run", "sequences evaluated per sample", "answered by the cache", "host share", "time in ONNX Runtime"],
            sedd.Select(r => (IReadOnlyList<string>)
            [
                r.Name, QualitySection.StepsCell(r), F(r.SecondsPerSample, "F3"), F(r.SecondsPerSample / ar.SecondsPerSample) + "×",
                F(r.NetworkCallsPerRun, "F1"), F(r.RowsPerSample, "F1"), timeIndependent ? F(r.CachedRowsPerSample, "F1") : "n/a (time-dependent)",
                F(100 * (r.HostShare ?? double.NaN), "F1") + " %", F(100 * (r.NetworkShare ?? double.NaN), "F0") + " %",
            ]).Append(
            [
                "AR, KV cache", $"{ar.Length} (1 per token)", F(ar.SecondsPerSample, "F3"), "1.00×", ar.Length.ToString(C), "—", "—", "—", "—",
            ]));
        var note = $"Every sample is {ar.Length} tokens, generated in batches of {batch} on the CPU. SEDD runs the exported ONNX graph (ONNX Runtime); " +
            "the AR baseline runs in TorchSharp (libtorch) with a KV cache, so the ratio mixes two engines as a user would meet them. " +
            "Euler and analytic make steps + 1 network evaluations per sequence (the last one denoises); first-hitting makes one per generated token" +
            (timeIndependent
                ? ". The package is time-independent, so a sequence whose tokens did not change since its last evaluation is answered from the cache (exact), " +
                  "and a call evaluates only the sequences that changed: sequences evaluated per sample is the network's real work."
                : "; the package is time-dependent, so exact caching does not apply.") +
            $" Host share: time outside ONNX Runtime (projection, reverse rates, draws) over the sampling steps' time; the host code ran with {simd}. " +
            "Timings are only as good as the machine was quiet: the header gives the load average at the start. On a machine shared with other jobs, " +
            "`--threads 1` avoids oversubscription, which hurts libtorch's many small per-token operations far more than ONNX Runtime's few large ones.";
        report.Markdown.AppendLine("## 3. Speed").AppendLine().Append(table).AppendLine().AppendLine(note).AppendLine()
            .AppendLine("![seconds per sample against steps](speed.png)").AppendLine();
        report.Readme.AppendLine("**Speed** (wall time per sample, same machine and run):").AppendLine().Append(table).AppendLine();
    }
}
