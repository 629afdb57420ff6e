using System.Net;
using Cocona;
using Sedd.Runtime;
using Sedd.Runtime.Onnx;

namespace Sedd.Cli.Serve;

/// <summary>The options of <c>sedd serve</c>. Names follow llama.cpp's server where it has one.</summary>
public sealed record ServeOptions(
    [Option("model", ['m'], Description = "Model package folder (default: $SEDD_MODEL, else the one package in models/)")] string? Model = null,
    [Option("host", Description = "Address to listen on: an IP address or localhost (default loopback only; 0.0.0.0 for every interface)")] string Host = "127.0.0.1",
    [Option("port", Description = "TCP port (0: any free port, printed when ready)")] int Port = 8080,
    [Option("api-key", Description = "Require Authorization: Bearer KEY on /v1/ requests (default: $SEDD_API_KEY, else no key)")] string? ApiKey = null,
    [Option("max-batch", Description = "Most sequences generated together in one batch")] int MaxBatch = ServeSettings.DefaultMaxBatch,
    [Option("max-queue", Description = "Most requests waiting for a batch; more are answered 429 with Retry-After")] int MaxQueue = 64,
    [Option("batch-wait-ms", Description = "How long a batch waits for more requests to join it, in milliseconds")] int BatchWaitMs = 5,
    [Option("mask-glyph", Description = "Placeholder for masked tokens in streamed canvases")] string MaskGlyph = "░",
    [Option("threads", ['t'], Description = "CPU threads for ONNX Runtime and the sampler (0 = one per core)")] int Threads = 0,
    [Option("provider", Description = "cpu, cuda, dml or auto (the best one that starts)")] string Provider = "auto")
    : ICommandParameterSet;

/// <summary>Checked <see cref="ServeOptions"/>.</summary>
sealed record ServeSettings(IPAddress? Address, int Port, string? ApiKey, int MaxBatch, int MaxQueue, TimeSpan BatchWait, string MaskGlyph,
    int Threads, ExecutionProvider Provider)
{
    /// <summary>Sequences per batch unless told: where batching still paid on a 2-core CPU with the default model.</summary>
    public const int DefaultMaxBatch = 8;

    /// <summary>The environment variable that gives the API key when --api-key does not.</summary>
    public const string ApiKeyVariable = "SEDD_API_KEY";

    /// <summary>Checks the options; a usage error (exit 1) naming the option otherwise.</summary>
    public static ServeSettings From(ServeOptions o)
    {
        IPAddress? address = null;
        if (!string.Equals(o.Host, "localhost", StringComparison.OrdinalIgnoreCase) && !IPAddress.TryParse(o.Host, out address))
            Fail($"--host must be an IP address (127.0.0.1, ::1, 0.0.0.0) or localhost, got '{TerminalText.Neutralise(o.Host, keepNewlines: false)}'");
        if (o.Port is < 0 or > 65535) Fail($"--port must lie in 0 … 65535, got {o.Port}");
        var key = o.ApiKey ?? Environment.GetEnvironmentVariable(ApiKeyVariable);
        if (o.ApiKey != null && o.ApiKey.Trim().Length == 0) Fail("--api-key is empty; give a key, or leave the option out to serve without one");
        if (key != null && key.Trim().Length == 0) key = null;
        if (key != null && (key.Trim() != key || key.Any(char.IsControl)))
            Fail("the API key must not start or end with spaces or hold control characters");
        if (o.MaxBatch is < 1 or > 1024) Fail($"--max-batch must lie in 1 … 1024, got {o.MaxBatch}");
        if (o.MaxQueue is < 1 or > 100_000) Fail($"--max-queue must lie in 1 … 100,000, got {o.MaxQueue}");
        if (o.BatchWaitMs is < 0 or > 1000) Fail($"--batch-wait-ms must lie in 0 … 1000, got {o.BatchWaitMs}");
        if (o.MaskGlyph.Length is 0 or > 16 || !TerminalText.IsSafe(o.MaskGlyph) || o.MaskGlyph.Contains('\n', StringComparison.Ordinal))
            Fail("--mask-glyph must be 1 … 16 printable characters");
        ThreadCount.Check(o.Threads, "--threads");
        var provider = ExecutionProviders.Parse(o.Provider);
        return new ServeSettings(address, o.Port, key, o.MaxBatch, o.MaxQueue, TimeSpan.FromMilliseconds(o.BatchWaitMs), o.MaskGlyph, o.Threads, provider);
    }

    /// <summary>The address as a URL host.</summary>
    public string HostText => Address == null ? "localhost" : Address.AddressFamily == System.Net.Sockets.AddressFamily.InterNetworkV6 ? $"[{Address}]" : Address.ToString();

    [System.Diagnostics.CodeAnalysis.DoesNotReturn]
    static void Fail(string message) => throw new SeddException(message, SeddException.Usage);
}
