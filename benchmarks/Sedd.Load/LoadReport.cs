using System.Globalization;
using System.Text;

namespace Sedd.Load;

/// <summary>The markdown report of a load run, with PASS/MISS per target.</summary>
static class LoadReport
{
    public static string Markdown(LoadResults r)
    {
        var s = r.Settings;
        var c = CultureInfo.InvariantCulture;
        var sb = new StringBuilder();
        sb.AppendLine("# sedd serve under load");
        sb.AppendLine();
        sb.AppendLine(string.Create(c, $"Measured {DateTime.UtcNow:yyyy-MM-dd HH:mm} UTC by `dotnet run --project benchmarks/Sedd.Load -c Release --` · {r.Machine.Describe()} · load average {r.Machine.LoadAverage:F1} at the start, {r.LoadAtEnd:F1} at the end."));
        sb.AppendLine();
        sb.AppendLine(string.Create(c, $"Server: `sedd serve --provider {s.Provider} --threads {s.Threads} --max-batch {s.MaxBatch} --batch-wait-ms {s.BatchWaitMs}`{(s.Model != null ? $" on `{s.Model}`" : " on the default model")}. " +
            $"Each request: `max_tokens` {s.MaxTokens} (the canvas, prompt included), `steps` {s.Steps}, sampler {s.Sampler}, one of six short prompts, its own seed. " +
            $"Closed-loop clients on loopback; each concurrency gets {s.Requests} requests (or {s.PhaseLimit.TotalSeconds:F0} s), in {s.Rounds} rounds that take the concurrencies in turn, so that a change in the shared machine's load falls on all of them alike."));
        sb.AppendLine();
        sb.AppendLine("| concurrency | requests | seconds | requests/s | tokens/s | p50 latency | p99 latency | mean batch | batch occupancy |");
        sb.AppendLine("| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |");
        foreach (var p in r.Phases)
            sb.AppendLine(string.Create(c, $"| {p.Concurrency} | {p.Requests} | {p.Seconds:F1} | {p.RequestsPerSecond:F2} | {p.TokensPerSecond:F0} | {p.Percentile(0.5) * 1000:F0} ms | {p.Percentile(0.99) * 1000:F0} ms | {p.MeanBatch:F2} | {p.Occupancy * 100:F0} % |"));
        sb.AppendLine();
        sb.AppendLine("Batch occupancy is the mean number of sequences per batch over `--max-batch`; tokens/s counts completion tokens returned (a sample ends at its first end-of-text token).");
        sb.AppendLine();

        var one = r.Phases.FirstOrDefault(p => p.Concurrency == 1);
        var most = r.Phases.MaxBy(p => p.Concurrency)!;
        double serverOne = CliBaseline.Median(r.Single.LatencySeconds), cliOne = CliBaseline.Median(r.CliWarm);
        double growth = (double)r.ResidentAtEnd / r.ResidentAfterFirst - 1;
        sb.AppendLine("| target | measured | |");
        sb.AppendLine("| --- | --- | --- |");
        if (one != null)
            sb.AppendLine(string.Create(c, $"| throughput at concurrency {most.Concurrency} ≥ at concurrency 1 | {most.RequestsPerSecond:F2} vs {one.RequestsPerSecond:F2} requests/s ({most.RequestsPerSecond / one.RequestsPerSecond:F2}×) | {Verdict(most.RequestsPerSecond >= one.RequestsPerSecond)} |"));
        sb.AppendLine(string.Create(c, $"| resident memory after {r.TotalRequests:N0} requests within 10 % of after 100 | {Mb(r.ResidentAtEnd)} vs {Mb(r.ResidentAfterFirst)} ({growth * 100:+0.0;-0.0} %) | {Verdict(Math.Abs(growth) <= 0.10)} |"));
        sb.AppendLine(string.Create(c, $"| one request at concurrency 1 within 10 % of `sedd sample`'s sampling time | {serverOne * 1000:F0} ms (median of {r.Single.Requests}, HTTP included) vs {cliOne * 1000:F0} ms (`sedd sample`, median of {r.CliWarm.Length} warm samples; a fresh process's first, cold: {r.CliCold * 1000:F0} ms) ({(serverOne / cliOne - 1) * 100:+0.0;-0.0} %) | {Verdict(serverOne <= 1.10 * cliOne)} |"));
        sb.AppendLine();
        return sb.ToString();
    }

    static string Verdict(bool pass) => pass ? "PASS" : "MISS";

    static string Mb(long bytes) => (bytes / (double)(1 << 20)).ToString("F0", CultureInfo.InvariantCulture) + " MB";
}
