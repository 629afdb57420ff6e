using System.Text;
using System.Text.Json;
using Microsoft.AspNetCore.Http;
using Sedd.Runtime.Text;

namespace Sedd.Cli.Serve;

/// <summary>
/// A streaming answer as Server-Sent Events in OpenAI's chunk format. For diffusion a chunk carries the
/// whole current completion of one choice (masked tokens as a placeholder), so a client replaces what
/// it shows instead of appending. After the last step: one final chunk per choice with its
/// finish_reason (and the <c>sedd</c> cost object on the last one), the usage chunk when asked for, then
/// <c>data: [DONE]</c>. Headers go out with the first canvas, so a request that fails before it still
/// gets a plain JSON error with its status; a failure after it becomes an error event.
/// </summary>
static class SseResponse
{
    static readonly byte[] Done = Encoding.UTF8.GetBytes("data: [DONE]\n\n");

    public static async Task WriteAsync(HttpContext context, GenerationJob job, CompletionReply reply, SeddTokenizer tokenizer)
    {
        var stream = job.Stream!;
        var cancel = context.RequestAborted;
        var buffer = new MemoryStream();
        await foreach (var update in stream.ReadAllAsync(cancel).ConfigureAwait(false))
        {
            await StartAsync(context).ConfigureAwait(false);
            await SendAsync(context, buffer, w => reply.WriteStepChunk(w, update)).ConfigureAwait(false);
        }
        try
        {
            await job.Completion.ConfigureAwait(false);
        }
        catch (Exception e) when (context.Response.HasStarted && e is not OperationCanceledException)
        {
            var error = ApiErrors.From(e);
            context.Items[RequestLog.StatusItem] = error.Status;
            context.Items[RequestLog.ErrorItem] = error.Status == 500 ? RequestLog.Describe(e) : error.Message;
            await SendAsync(context, buffer, w =>
            {
                w.WriteStartObject();
                ApiErrors.WriteError(w, error);
                w.WriteEndObject();
            }).ConfigureAwait(false);
            await context.Response.Body.WriteAsync(Done, cancel).ConfigureAwait(false);
            return;
        }
        await StartAsync(context).ConfigureAwait(false);
        var finals = reply.Finals(tokenizer);
        for (int i = 0; i < finals.Count; i++)
        {
            var c = finals[i];
            await SendAsync(context, buffer, w => reply.WriteFinalChunk(w, c, withSedd: i == finals.Count - 1)).ConfigureAwait(false);
        }
        if (job.Request.IncludeUsage) await SendAsync(context, buffer, w => reply.WriteUsageChunk(w, finals)).ConfigureAwait(false);
        await context.Response.Body.WriteAsync(Done, cancel).ConfigureAwait(false);
        await context.Response.Body.FlushAsync(cancel).ConfigureAwait(false);
    }

    static async Task StartAsync(HttpContext context)
    {
        if (context.Response.HasStarted) return;
        context.Response.StatusCode = 200;
        context.Response.ContentType = "text/event-stream; charset=utf-8";
        context.Response.Headers.CacheControl = "no-cache";
        // Proxies such as nginx would otherwise hold the events back.
        context.Response.Headers["X-Accel-Buffering"] = "no";
        await context.Response.StartAsync(context.RequestAborted).ConfigureAwait(false);
    }

    static async Task SendAsync(HttpContext context, MemoryStream buffer, Action<Utf8JsonWriter> write)
    {
        buffer.SetLength(0);
        buffer.Write("data: "u8);
        using (var w = new Utf8JsonWriter(buffer, ServerJson.WriterOptions)) write(w);
        buffer.Write("\n\n"u8);
        await context.Response.Body.WriteAsync(buffer.GetBuffer().AsMemory(0, (int)buffer.Length), context.RequestAborted).ConfigureAwait(false);
        await context.Response.Body.FlushAsync(context.RequestAborted).ConfigureAwait(false);
    }
}
