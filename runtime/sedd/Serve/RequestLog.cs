using System.Diagnostics;
using System.Globalization;
using Microsoft.AspNetCore.Http;
using Sedd.Runtime;

namespace Sedd.Cli.Serve;

/// <summary>
/// The outermost middleware: answers any failure in OpenAI's error shape (a bug as a generic 500, its
/// description in the log only), then writes one stderr line per request — method, path, status,
/// milliseconds and, for an error, why — and counts it in the metrics. A client that went away before
/// its answer is logged as 499. Never a stack trace.
/// </summary>
sealed class RequestLog(ServerMetrics metrics)
{
    /// <summary>Item keys by which a handler reports a status or error after its response started (streams).</summary>
    public const string StatusItem = "sedd.status", ErrorItem = "sedd.error";

    static readonly object Gate = new();

    public async Task InvokeAsync(HttpContext context, RequestDelegate next)
    {
        long start = Stopwatch.GetTimestamp();
        string? note = null;
        int? status = null;
        try
        {
            await next(context).ConfigureAwait(false);
        }
#pragma warning disable CA1031 // Every failure becomes an answer and a log line; the server goes on.
        catch (Exception e)
#pragma warning restore CA1031
        {
            if (context.RequestAborted.IsCancellationRequested)
            {
                status = 499;
                note = "the client went away";
            }
            else
            {
                var error = ApiErrors.From(e);
                note = error.Status == 500 ? Describe(e) : error.Message;
                if (context.Response.HasStarted) status = error.Status;
                else
                {
                    try { await ApiErrors.WriteAsync(context, error).ConfigureAwait(false); }
                    catch (Exception write) when (write is IOException or OperationCanceledException) { status = 499; }
                }
            }
        }
        if (context.RequestAborted.IsCancellationRequested && status == null && !context.Response.HasStarted) status = 499;
        if (context.Items.TryGetValue(StatusItem, out var s) && s is int reported) status = reported;
        if (context.Items.TryGetValue(ErrorItem, out var n) && n is string reportedNote) note = reportedNote;
        int code = status ?? context.Response.StatusCode;
        double seconds = Stopwatch.GetElapsedTime(start).TotalSeconds;
        var path = ServerMetrics.PathLabel(context.Request.Path.Value);
        metrics.Requests.WithLabels(path, code.ToString(CultureInfo.InvariantCulture)).Inc();
        metrics.Latency.WithLabels(path).Observe(seconds);
        if (code == 499) metrics.CancelledRequests.Inc();
        Write($"{context.Request.Method} {Clip(context.Request.Path.Value)} {code} {seconds * 1000:F0} ms{(note != null ? " — " + note : "")}");
    }

    /// <summary>One log line on stderr, neutralised (paths and messages can hold anything a client sent).</summary>
    public static void Write(string line)
    {
        var safe = TerminalText.Neutralise(line, keepNewlines: false);
        lock (Gate) Console.Error.WriteLine(string.Create(CultureInfo.InvariantCulture, $"sedd: {safe}"));
    }

    /// <summary>A bug's one-line description for the log (never for the client).</summary>
    public static string Describe(Exception e)
    {
        var inner = e is AggregateException { InnerException: { } i } ? i : e;
        return $"internal error: {inner.GetType().Name}: {ApiErrors.OneLine(inner.Message)}";
    }

    static string Clip(string? path) => path == null ? "" : path.Length <= 200 ? path : path[..200] + "…";
}
