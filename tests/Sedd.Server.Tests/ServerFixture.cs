using System.Text.Json.Nodes;
using Sedd.Runtime.Tests.Onnx;

namespace Sedd.Server.Tests;

/// <summary>
/// One server shared by the tests of the "server" collection: a tiny time-independent package (window
/// 32, readable ASCII), an API key, and a batch window long enough that concurrent requests meet.
/// </summary>
public sealed class ServerFixture : IDisposable
{
    public const string ApiKey = "sk-test-9f3c";

    /// <summary>A request that runs for hours: the longest text, written in windows of the most steps, never cut at end of text.</summary>
    public const string Endless = """{"prompt":"x","max_tokens":65536,"steps":100000,"keep_eos":true}""";

    public ServerFixture()
    {
        Package = TinyPackage.Create(length: 32, timeIndependent: true);
        try
        {
            Server = ServerProcess.Start(Package.Folder, "--api-key", ApiKey, "--batch-wait-ms", "100", "--max-batch", "8", "--threads", "1");
        }
        catch
        {
            Package.Dispose();
            throw;
        }
    }

    public TinyPackage Package { get; }

    internal ServerProcess Server { get; }

    /// <summary>The model id: the package folder's name.</summary>
    public string ModelId => Path.GetFileName(Package.Folder);

    /// <summary>POSTs to /v1/completions with the key.</summary>
    internal Task<(int Status, JsonNode? Body, HttpResponseMessage Response)> Complete(string json, CancellationToken cancel = default) =>
        Server.PostAsync("/v1/completions", json, ApiKey, cancel);

    /// <summary>POSTs to /v1/completions and requires a 200.</summary>
    internal async Task<JsonNode> CompleteOk(string json)
    {
        var (status, body, _) = await Complete(json);
        Assert.True(status == 200, $"{status}: {body?.ToJsonString()}\n{json}");
        return body!;
    }

    public void Dispose()
    {
        Server.Dispose();
        Package.Dispose();
    }
}

[CollectionDefinition("server")]
public sealed class ServerCollection : ICollectionFixture<ServerFixture>;
