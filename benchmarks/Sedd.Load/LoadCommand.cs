using System.Globalization;
using Cocona;
using Cocona.Application;
using Sedd.Runtime;

namespace Sedd.Load;

/// <summary>
/// <c>sedd-load</c>: measures <c>sedd serve</c> on loopback. Bounded: every phase stops at its request
/// count or its time limit, whichever comes first; only loopback addresses are ever contacted.
/// </summary>
sealed class LoadCommand(ICoconaAppContextAccessor context)
{
    [Command(Description = "Load-test sedd serve on loopback: closed-loop clients at each concurrency (requests/s, tokens/s, p50/p99 latency, batch occupancy), the server's resident memory after the first 100 and after --memory-requests requests, and one request against sedd sample's sampling time.")]
    public int Load(
        [Option(Description = "a running server on loopback (default: start sedd serve here)")] string? url = null,
        [Option(Description = "model package folder (default: the one sedd finds)")] string? model = null,
        [Option(Description = "execution provider of the server and the CLI baseline")] string provider = "cpu",
        [Option(Description = "threads of the server and the CLI baseline (0 = one per core)")] int threads = 0,
        [Option("max-batch", Description = "the server's --max-batch")] int maxBatch = 8,
        [Option("batch-wait-ms", Description = "the server's --batch-wait-ms")] int batchWaitMs = 5,
        [Option(Description = "comma-separated client concurrencies")] string concurrency = "1,4,16",
        [Option(Description = "requests per concurrency phase")] int requests = 200,
        [Option("phase-seconds", Description = "time limit of each phase")] int phaseSeconds = 300,
        [Option("memory-requests", Description = "requests after which the second memory reading is taken (the first is after 100)")] int memoryRequests = 2000,
        [Option("max-tokens", Description = "canvas length of each request (prompt included)")] int maxTokens = 64,
        [Option(Description = "denoising steps of each request")] int steps = 32,
        [Option(Description = "sampler of each request")] string sampler = "analytic",
        [Option("latency-runs", Description = "repetitions per round of the single-request latency measurement (server and sedd sample)")] int latencyRuns = 7,
        [Option(Description = "rounds: the concurrency phases run in turn this many times (each with requests / rounds), so that a change in the machine's load falls on every phase alike")] int rounds = 3,
        [Option(Description = "also write the report to this file (e.g. docs/results/serve-load.md)")] string? @out = null)
    {
        var levels = concurrency.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)
            .Select(c => int.TryParse(c, NumberStyles.None, CultureInfo.InvariantCulture, out int v) && v is >= 1 and <= 256 ? v
                : throw new SeddException($"--concurrency takes numbers in 1 … 256 separated by commas, got '{TerminalText.Neutralise(concurrency, keepNewlines: false)}'", SeddException.Usage))
            .ToArray();
        if (levels.Length == 0 || levels.Distinct().Count() != levels.Length) throw new SeddException("--concurrency needs distinct levels", SeddException.Usage);
        if (requests is < 1 or > 100_000) throw new SeddException($"--requests must lie in 1 … 100,000, got {requests}", SeddException.Usage);
        if (phaseSeconds is < 1 or > 3600) throw new SeddException($"--phase-seconds must lie in 1 … 3,600, got {phaseSeconds}", SeddException.Usage);
        if (memoryRequests is < 100 or > 100_000) throw new SeddException($"--memory-requests must lie in 100 … 100,000, got {memoryRequests}", SeddException.Usage);
        if (latencyRuns is < 1 or > 1000) throw new SeddException($"--latency-runs must lie in 1 … 1,000, got {latencyRuns}", SeddException.Usage);
        if (rounds < 1 || rounds > requests) throw new SeddException($"--rounds must lie in 1 … --requests ({requests}), got {rounds}", SeddException.Usage);
        var cancel = context.Current?.CancellationToken ?? CancellationToken.None;
        var settings = new LoadSettings(url, model, provider, threads, maxBatch, batchWaitMs, levels, requests, TimeSpan.FromSeconds(phaseSeconds),
            memoryRequests, maxTokens, steps, sampler, latencyRuns, rounds);
        var report = RunAsync(settings, cancel).GetAwaiter().GetResult();
        var text = LoadReport.Markdown(report);
        Console.Write(text);
        if (@out != null)
        {
            var full = Path.GetFullPath(@out);
            Directory.CreateDirectory(Path.GetDirectoryName(full)!);
            Sedd.Runtime.IO.AtomicFile.WriteAllText(full, text);
            Console.Error.WriteLine($"sedd-load: wrote {TerminalText.Neutralise(full, keepNewlines: false)}");
        }
        return 0;
    }

    static async Task<LoadResults> RunAsync(LoadSettings s, CancellationToken cancel)
    {
        var machine = Machine.Collect();
        string[] modelArgs = s.Model != null ? ["--model", s.Model] : [];
        string[] serverArgs = [.. modelArgs, "--provider", s.Provider, "--threads", Text(s.Threads), "--max-batch", Text(s.MaxBatch),
            "--batch-wait-ms", Text(s.BatchWaitMs), "--max-queue", Text(Math.Max(64, 2 * s.Levels.Max()))];
        using var server = s.Url != null ? ServerUnderTest.Target(s.Url) : ServerUnderTest.Start(serverArgs);
        string Body(int i) => LoadPhase.Body(i, s.MaxTokens, s.Steps, s.Sampler);
        int top = s.Levels.Max(), total = 0;
        Console.Error.WriteLine($"sedd-load: server at {server.Url}; {s.Levels.Length} phases of up to {s.Requests} requests");

        // The first 100 requests at the highest concurrency, so that the largest batches have run before the first memory reading.
        var first = await LoadPhase.RunAsync(server, "first 100", top, 100, s.PhaseLimit, Body, total, s.MaxBatch, cancel).ConfigureAwait(false);
        total += first.Requests;
        long rssFirst = await server.ResidentBytesAsync().ConfigureAwait(false);

        var parts = s.Levels.ToDictionary(c => c, _ => new List<PhaseResult>());
        for (int round = 0; round < s.Rounds; round++)
        {
            foreach (int c in s.Levels)
            {
                int n = s.Requests / s.Rounds + (round < s.Requests % s.Rounds ? 1 : 0);
                var r = await LoadPhase.RunAsync(server, $"concurrency {c}", c, n, s.PhaseLimit / s.Rounds, Body, total, s.MaxBatch, cancel).ConfigureAwait(false);
                total += r.Requests;
                parts[c].Add(r);
                Console.Error.WriteLine(string.Create(CultureInfo.InvariantCulture, $"sedd-load: round {round + 1}, concurrency {c}: {r.Requests} requests, {r.RequestsPerSecond:F2}/s, p50 {r.Percentile(0.5) * 1000:F0} ms"));
            }
        }
        var phases = s.Levels.Select(c => PhaseResult.Combine(parts[c])).ToList();

        // One request, alone, repeated, against the same request through sedd sample; the two alternate in
        // rounds too, so that both see the same machine.
        var singles = new List<PhaseResult>();
        var warm = new List<double>();
        var cold = new List<double>();
        for (int round = 0; round < s.Rounds; round++)
        {
            var one = await LoadPhase.RunAsync(server, "one request", 1, s.LatencyRuns, s.PhaseLimit, _ => Body(0), 0, s.MaxBatch, cancel).ConfigureAwait(false);
            total += one.Requests;
            singles.Add(one);
            var (c, w) = CliBaseline.SamplingSeconds(modelArgs, s.Provider, s.Threads, "The jury said", s.MaxTokens, s.Steps, s.Sampler, s.LatencyRuns, cancel);
            cold.Add(c);
            warm.AddRange(w);
        }
        var single = PhaseResult.Combine(singles);

        int rest = s.MemoryRequests - total;
        if (rest > 0)
        {
            var fill = await LoadPhase.RunAsync(server, "memory", top, rest, TimeSpan.FromSeconds(s.PhaseLimit.TotalSeconds * 4), Body, total, s.MaxBatch, cancel).ConfigureAwait(false);
            total += fill.Requests;
        }
        long rssLast = await server.ResidentBytesAsync().ConfigureAwait(false);

        return new LoadResults(s, machine, Machine.LoadNow(), phases, single, CliBaseline.Median(cold), [.. warm], rssFirst, rssLast, total);
    }

    static string Text(int v) => v.ToString(CultureInfo.InvariantCulture);
}

/// <summary>The run's settings.</summary>
sealed record LoadSettings(string? Url, string? Model, string Provider, int Threads, int MaxBatch, int BatchWaitMs, int[] Levels, int Requests,
    TimeSpan PhaseLimit, int MemoryRequests, int MaxTokens, int Steps, string Sampler, int LatencyRuns, int Rounds);

/// <summary>Everything a run measured.</summary>
sealed record LoadResults(LoadSettings Settings, Machine Machine, double LoadAtEnd, IReadOnlyList<PhaseResult> Phases, PhaseResult Single,
    double CliCold, double[] CliWarm, long ResidentAfterFirst, long ResidentAtEnd, int TotalRequests);
