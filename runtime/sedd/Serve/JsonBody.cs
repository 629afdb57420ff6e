using System.Text.Json;
using Microsoft.AspNetCore.Http;
using Sedd.Runtime;

namespace Sedd.Cli.Serve;

/// <summary>JSON settings of the server: what it writes (control characters escaped) and what it reads (bounded).</summary>
static class ServerJson
{
    /// <summary>Output: compact, with every control and bidirectional-control character escaped.</summary>
    public static JsonWriterOptions WriterOptions { get; } = new() { Encoder = SafeJsonEncoder.Instance };

    /// <summary>Input: at most <see cref="JsonBody.MaxDepth"/> levels, no duplicate keys, no comments.</summary>
    public static JsonDocumentOptions ReaderOptions { get; } = new()
    {
        MaxDepth = JsonBody.MaxDepth,
        AllowDuplicateProperties = false,
        CommentHandling = JsonCommentHandling.Disallow,
    };

    /// <summary>Writes a JSON object built by <paramref name="write"/> as the whole response.</summary>
    public static async Task WriteAsync(HttpContext context, int status, Action<Utf8JsonWriter> write)
    {
        using var buffer = new MemoryStream();
        using (var w = new Utf8JsonWriter(buffer, WriterOptions)) write(w);
        context.Response.StatusCode = status;
        context.Response.ContentType = "application/json";
        context.Response.ContentLength = buffer.Length;
        await context.Response.Body.WriteAsync(buffer.GetBuffer().AsMemory(0, (int)buffer.Length), context.RequestAborted).ConfigureAwait(false);
    }
}

/// <summary>
/// Reads a request body as JSON within bounds: at most <see cref="MaxBytes"/> (413 above) and
/// <see cref="MaxDepth"/> levels of nesting. A body somewhat over the limit is read to its end and thrown
/// away before the 413, because most clients send the whole body before they read the answer and would
/// otherwise see a broken connection instead of the error; beyond <see cref="DrainBytes"/> the
/// connection is simply closed after the answer.
/// </summary>
static class JsonBody
{
    /// <summary>The largest body accepted: 1 MiB (prompts are bounded by the model's reach long before).</summary>
    public const int MaxBytes = 1 << 20;

    /// <summary>The most a refused body is read (and discarded) so that its client can read the 413.</summary>
    public const int DrainBytes = 16 << 20;

    /// <summary>The deepest nesting accepted; requests need 3 levels.</summary>
    public const int MaxDepth = 16;

    /// <summary>The body parsed; a 400 for malformed JSON, a 413 for a body too large.</summary>
    public static async Task<JsonDocument> ReadAsync(HttpRequest request, CancellationToken cancel)
    {
        if (request.ContentLength is long declared && declared > MaxBytes)
        {
            if (declared <= DrainBytes) await DrainAsync(request, cancel).ConfigureAwait(false);
            throw ApiErrors.TooLarge();
        }
        var buffer = new MemoryStream();
        var chunk = new byte[16 * 1024];
        while (true)
        {
            int n = await request.Body.ReadAsync(chunk, cancel).ConfigureAwait(false);
            if (n == 0) break;
            if (buffer.Length + n > MaxBytes)
            {
                await DrainAsync(request, cancel).ConfigureAwait(false);
                throw ApiErrors.TooLarge();
            }
            buffer.Write(chunk, 0, n);
        }
        if (buffer.Length == 0) throw new ApiException(400, "the request body is empty; expected a JSON object", code: "invalid_json");
        try
        {
            return JsonDocument.Parse(buffer.GetBuffer().AsMemory(0, (int)buffer.Length), ServerJson.ReaderOptions);
        }
        catch (JsonException e)
        {
            // The reader's message names the problem and its position (line, byte); it holds no request text.
            throw new ApiException(400, "the request body is not valid JSON: " + ApiErrors.OneLine(e.Message), code: "invalid_json");
        }
    }

    // Reads the rest of a refused body, up to DrainBytes in all (Kestrel's limit ends a longer one).
    static async Task DrainAsync(HttpRequest request, CancellationToken cancel)
    {
        var chunk = new byte[64 * 1024];
        try
        {
            while (await request.Body.ReadAsync(chunk, cancel).ConfigureAwait(false) > 0) { }
        }
        catch (BadHttpRequestException) { }
    }
}
