using Prometheus;

namespace Sedd.Cli.Serve;

/// <summary>
/// The server's Prometheus metrics (prometheus-net, served at <c>GET /metrics</c>): requests by path and
/// status, their latency, the queue, batch occupancy, and the network's work (passes, rows evaluated,
/// rows saved by exact caching), beside the process metrics (resident memory, CPU time, GC).
/// </summary>
sealed class ServerMetrics
{
    static readonly string[] Paths = ["/v1/completions", "/v1/infill", "/v1/models", "/health", "/metrics"];

    public ServerMetrics(int maxBatch)
    {
        Registry = Metrics.NewCustomRegistry();
        DotNetStats.Register(Registry);
        var f = Metrics.WithCustomRegistry(Registry);
        Requests = f.CreateCounter("sedd_http_requests_total", "HTTP requests answered, by path and status.", "path", "status");
        Latency = f.CreateHistogram("sedd_http_request_duration_seconds", "Time from request to the end of the answer, by path.",
            new HistogramConfiguration { LabelNames = ["path"], Buckets = Histogram.ExponentialBuckets(0.001, 2, 18) });
        QueueDepth = f.CreateGauge("sedd_queue_depth", "Requests waiting for a batch.");
        Running = f.CreateGauge("sedd_batch_running_sequences", "Sequences in the batch being generated (0 when idle).");
        var maxBatchGauge = f.CreateGauge("sedd_batch_max_sequences", "The largest batch the scheduler forms (--max-batch).");
        maxBatchGauge.Set(maxBatch);
        BatchSequences = f.CreateHistogram("sedd_batch_sequences", "Sequences per batch (occupancy = sum / count / sedd_batch_max_sequences).",
            new HistogramConfiguration { Buckets = Histogram.ExponentialBuckets(1, 2, 11) });
        BatchRequests = f.CreateHistogram("sedd_batch_requests", "Requests sharing a batch.",
            new HistogramConfiguration { Buckets = Histogram.ExponentialBuckets(1, 2, 11) });
        NetworkEvaluations = f.CreateCounter("sedd_network_evaluations_total", "Network passes (one per step that evaluated at least one row).");
        RowEvaluations = f.CreateCounter("sedd_row_evaluations_total", "Sequences evaluated by the network, summed over passes.");
        CachedRows = f.CreateCounter("sedd_cached_rows_total", "Sequence evaluations saved by exact caching (tokens unchanged since the last pass).");
        GeneratedTokens = f.CreateCounter("sedd_generated_tokens_total", "Completion tokens returned.");
        PromptTokens = f.CreateCounter("sedd_prompt_tokens_total", "Prompt, suffix and template tokens of completed requests.");
        CancelledRequests = f.CreateCounter("sedd_cancelled_requests_total", "Requests whose client went away before the answer.");
    }

    /// <summary>The registry <c>/metrics</c> serves.</summary>
    public CollectorRegistry Registry { get; }

    public Counter Requests { get; }

    public Histogram Latency { get; }

    public Gauge QueueDepth { get; }

    public Gauge Running { get; }

    public Histogram BatchSequences { get; }

    public Histogram BatchRequests { get; }

    public Counter NetworkEvaluations { get; }

    public Counter RowEvaluations { get; }

    public Counter CachedRows { get; }

    public Counter GeneratedTokens { get; }

    public Counter PromptTokens { get; }

    public Counter CancelledRequests { get; }

    /// <summary>The path label: a known route, or "other" (so that clients cannot grow the label set).</summary>
    public static string PathLabel(string? path) =>
        path != null && Paths.Contains(path, StringComparer.Ordinal) ? path
        : path != null && path.StartsWith("/v1/models/", StringComparison.Ordinal) ? "/v1/models/{id}" : "other";
}
