using System.Text.Json;
using Microsoft.AspNetCore.Http;
using Sedd.Runtime;

namespace Sedd.Cli.Serve;

/// <summary>
/// A request that cannot be served, answered in OpenAI's error shape
/// <c>{"error": {"message", "type", "param", "code"}}</c> with an HTTP status.
/// </summary>
sealed class ApiException(int status, string message, string? param = null, string? code = null) : Exception(message)
{
    /// <summary>HTTP status (400, 401, 404, 413, 429, 500, 503).</summary>
    public int Status { get; } = status;

    /// <summary>The request field at fault, if one is.</summary>
    public string? Param { get; } = param;

    /// <summary>A machine-readable code (OpenAI's where it has one: invalid_api_key, model_not_found, ...).</summary>
    public string? Code { get; } = code;

    /// <summary>Seconds a client should wait before trying again (429, 503).</summary>
    public int? RetryAfterSeconds { get; init; }

    /// <summary>OpenAI's error type for the status.</summary>
    public string Type => Status switch
    {
        401 => "authentication_error",
        429 => "rate_limit_error",
        >= 500 => "server_error",
        _ => "invalid_request_error",
    };
}

/// <summary>How failures become answers: the mapping from exceptions to <see cref="ApiException"/> and the error body.</summary>
static class ApiErrors
{
    /// <summary>The generic answer to a bug: no detail of it reaches the client.</summary>
    public static ApiException Internal() => new(500, "internal server error; the server log has one line about it", code: "internal_error");

    /// <summary>The answer while the server stops.</summary>
    public static ApiException ShuttingDown() => new(503, "the server is shutting down", code: "shutting_down") { RetryAfterSeconds = 1 };

    /// <summary>
    /// The answer for a failure: an <see cref="ApiException"/> as it is; a <see cref="SeddException"/>
    /// (a request the generator refuses) as 400, or 503 when the machine is short (exit code 3);
    /// anything else is a bug (500).
    /// </summary>
    public static ApiException From(Exception e) => e switch
    {
        ApiException api => api,
        SeddException { ExitCode: SeddException.Environment } s => new ApiException(503, OneLine(s.Message), s.Param, "server_unavailable") { RetryAfterSeconds = 1 },
        SeddException s => new ApiException(400, OneLine(s.Message), s.Param, "invalid_value"),
        BadHttpRequestException { StatusCode: StatusCodes.Status413PayloadTooLarge } => TooLarge(),
        BadHttpRequestException b => new ApiException(b.StatusCode is >= 400 and < 500 ? b.StatusCode : 400, OneLine(b.Message), code: "bad_request"),
        _ => Internal(),
    };

    /// <summary>The answer to a body over <see cref="JsonBody.MaxBytes"/>.</summary>
    public static ApiException TooLarge() =>
        new(413, $"the request body exceeds {JsonBody.MaxBytes / (1 << 20)} MiB", code: "request_too_large");

    /// <summary>Writes the error body (unless the response has started) and the Retry-After header.</summary>
    public static async Task WriteAsync(HttpContext context, ApiException error)
    {
        if (context.Response.HasStarted) return;
        context.Response.Clear();
        context.Response.StatusCode = error.Status;
        if (error.RetryAfterSeconds is int seconds)
            context.Response.Headers.RetryAfter = seconds.ToString(System.Globalization.CultureInfo.InvariantCulture);
        context.Response.ContentType = "application/json";
        await context.Response.Body.WriteAsync(Body(error), context.RequestAborted).ConfigureAwait(false);
    }

    /// <summary>The UTF-8 JSON of <c>{"error": {...}}</c>.</summary>
    public static byte[] Body(ApiException error)
    {
        using var buffer = new MemoryStream();
        using (var w = new Utf8JsonWriter(buffer, ServerJson.WriterOptions))
        {
            w.WriteStartObject();
            WriteError(w, error);
            w.WriteEndObject();
        }
        return buffer.ToArray();
    }

    /// <summary>Writes the <c>"error": {...}</c> property into an open object.</summary>
    public static void WriteError(Utf8JsonWriter w, ApiException error)
    {
        w.WriteStartObject("error");
        w.WriteString("message", error.Message);
        w.WriteString("type", error.Type);
        if (error.Param != null) w.WriteString("param", error.Param);
        else w.WriteNull("param");
        if (error.Code != null) w.WriteString("code", error.Code);
        else w.WriteNull("code");
        w.WriteEndObject();
    }

    /// <summary>The first line of a message, with control characters made visible.</summary>
    public static string OneLine(string message) => TerminalText.Neutralise(message.Split('\n', 2)[0].TrimEnd('\r'), keepNewlines: false);
}
