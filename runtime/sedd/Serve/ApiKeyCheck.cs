using System.Security.Cryptography;
using System.Text;
using Microsoft.AspNetCore.Http;

namespace Sedd.Cli.Serve;

/// <summary>
/// With an API key set, every <c>/v1/</c> request must send <c>Authorization: Bearer KEY</c> (what the
/// OpenAI SDKs send); 401 otherwise. <c>/health</c> and <c>/metrics</c> stay open for probes and
/// scrapers. The comparison takes the same time whatever the key sent.
/// </summary>
sealed class ApiKeyCheck(string? key)
{
    readonly byte[]? expected = key == null ? null : SHA256.HashData(Encoding.UTF8.GetBytes(key));

    public Task InvokeAsync(HttpContext context, RequestDelegate next)
    {
        if (expected == null || !context.Request.Path.StartsWithSegments("/v1", StringComparison.Ordinal)) return next(context);
        string? header = context.Request.Headers.Authorization;
        if (string.IsNullOrEmpty(header))
            throw new ApiException(401, "missing API key: send the header Authorization: Bearer YOUR_KEY", code: "invalid_api_key");
        const string scheme = "Bearer ";
        var given = header.StartsWith(scheme, StringComparison.OrdinalIgnoreCase) ? header[scheme.Length..].Trim() : "";
        if (!CryptographicOperations.FixedTimeEquals(SHA256.HashData(Encoding.UTF8.GetBytes(given)), expected))
            throw new ApiException(401, "incorrect API key (expected Authorization: Bearer YOUR_KEY)", code: "invalid_api_key");
        return next(context);
    }
}
