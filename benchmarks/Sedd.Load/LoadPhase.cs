using System.Diagnostics;
using System.Globalization;
using System.Text;
using System.Text.Json.Nodes;
using Sedd.Runtime;

namespace Sedd.Load;

/// <summary>What one phase measured.</summary>
sealed record PhaseResult(string Name, int Concurrency, int Requests, int Errors, double Seconds, double[] LatencySeconds, long CompletionTokens,
    double BatchSequences, double Batches, int MaxBatch)
{
    public double RequestsPerSecond => Requests / Seconds;

    public double TokensPerSecond => CompletionTokens / Seconds;

    public double Percentile(double p)
    {
        if (LatencySeconds.Length == 0) return double.NaN;
        var sorted = LatencySeconds.Order().ToArray();
        return sorted[Math.Clamp((int)Math.Ceiling(p * sorted.Length) - 1, 0, sorted.Length - 1)];
    }

    /// <summary>Mean sequences per batch over the largest batch the server forms.</summary>
    public double Occupancy => Batches > 0 ? BatchSequences / Batches / MaxBatch : double.NaN;

    public double MeanBatch => Batches > 0 ? BatchSequences / Batches : double.NaN;

    /// <summary>Phases of one concurrency run in several rounds, as one.</summary>
    public static PhaseResult Combine(IReadOnlyList<PhaseResult> parts) => new(parts[0].Name, parts[0].Concurrency, parts.Sum(p => p.Requests),
        parts.Sum(p => p.Errors), parts.Sum(p => p.Seconds), [.. parts.SelectMany(p => p.LatencySeconds)], parts.Sum(p => p.CompletionTokens),
        parts.Sum(p => p.BatchSequences), parts.Sum(p => p.Batches), parts[0].MaxBatch);
}

/// <summary>
/// Closed-loop clients: each of <c>concurrency</c> clients sends its next request as soon as the last one
/// is answered, until the phase has sent its requests or run out of time. Request i uses prompt
/// i mod k and seed i, so every phase asks for the same kind of work.
/// </summary>
static class LoadPhase
{
    static readonly string[] Prompts = ["The jury said", "In the morning", "She told him that", "The committee", "When the war ended", "It was a"];

    public static string Body(int i, int maxTokens, int steps, string sampler) => string.Create(CultureInfo.InvariantCulture,
        $$"""{"prompt":"{{Prompts[i % Prompts.Length]}}","max_tokens":{{maxTokens}},"steps":{{steps}},"sampler":"{{sampler}}","seed":{{i}}}""");

    public static async Task<PhaseResult> RunAsync(ServerUnderTest server, string name, int concurrency, int requests, TimeSpan limit,
        Func<int, string> body, int firstIndex, int maxBatch, CancellationToken cancel)
    {
        var before = await server.MetricsAsync().ConfigureAwait(false);
        var latencies = new double[requests];
        int next = -1, done = 0, errors = 0;
        long tokens = 0;
        var clock = Stopwatch.StartNew();
        string? firstError = null;
        async Task Client()
        {
            while (clock.Elapsed < limit && !cancel.IsCancellationRequested)
            {
                int i = Interlocked.Increment(ref next);
                if (i >= requests) return;
                var start = Stopwatch.GetTimestamp();
                using var content = new StringContent(body(firstIndex + i), Encoding.UTF8, "application/json");
                using var response = await server.Client.PostAsync(new Uri("/v1/completions", UriKind.Relative), content).ConfigureAwait(false);
                var text = await response.Content.ReadAsStringAsync().ConfigureAwait(false);
                latencies[i] = Stopwatch.GetElapsedTime(start).TotalSeconds;
                if (!response.IsSuccessStatusCode)
                {
                    Interlocked.Increment(ref errors);
                    Interlocked.CompareExchange(ref firstError, $"{(int)response.StatusCode} {text}", null);
                    continue;
                }
                Interlocked.Add(ref tokens, (long)JsonNode.Parse(text)!["usage"]!["completion_tokens"]!);
                Interlocked.Increment(ref done);
            }
        }
        await Task.WhenAll(Enumerable.Range(0, concurrency).Select(_ => Task.Run(Client))).ConfigureAwait(false);
        double seconds = clock.Elapsed.TotalSeconds;
        cancel.ThrowIfCancellationRequested();
        if (errors > 0)
            throw new SeddException($"{errors} of {done + errors} requests failed in phase {name}; the first: {TerminalText.Neutralise(firstError, keepNewlines: false)}; server: {server.Tail}", SeddException.Environment);
        var after = await server.MetricsAsync().ConfigureAwait(false);
        double Delta(string metric) => ServerUnderTest.Metric(after, metric) - ServerUnderTest.Metric(before, metric);
        return new PhaseResult(name, concurrency, done, errors, seconds, latencies[..done], tokens,
            Delta("sedd_batch_sequences_sum"), Delta("sedd_batch_sequences_count"), maxBatch);
    }
}
