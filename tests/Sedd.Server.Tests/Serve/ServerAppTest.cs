using System.Text.Json.Nodes;

namespace Sedd.Server.Tests.Serve;

/// <summary>GET /v1/models, /health and /metrics.</summary>
[Collection("server")]
public sealed class ServerAppTest(ServerFixture fixture)
{
    [Fact]
    public async Task ServerAppTest_ModelsListsThePackageWithItsFacts()
    {
        var (status, text) = await fixture.Server.GetAsync("/v1/models", ServerFixture.ApiKey);
        Assert.Equal(200, status);
        var list = JsonNode.Parse(text)!;
        Assert.Equal("list", (string)list["object"]!);
        var model = Assert.Single(list["data"]!.AsArray())!;
        Assert.Equal(fixture.ModelId, (string)model["id"]!);
        Assert.Equal("model", (string)model["object"]!);
        Assert.Equal("sedd", (string)model["owned_by"]!);
        var m = fixture.Package.Manifest;
        Assert.Equal(m.Length, (int)model["sedd"]!["window"]!);
        Assert.Equal(m.Graph.Type, (string)model["sedd"]!["graph"]!);
        Assert.Equal(m.Model.Parameters, (long)model["sedd"]!["parameters"]!);
        Assert.Equal("cpu", (string)model["sedd"]!["provider"]!);

        var (one, oneText) = await fixture.Server.GetAsync("/v1/models/" + fixture.ModelId, ServerFixture.ApiKey);
        Assert.Equal(200, one);
        Assert.Equal(fixture.ModelId, (string)JsonNode.Parse(oneText)!["id"]!);
    }

    [Fact]
    public async Task ServerAppTest_HealthIsOkOnceLoaded()
    {
        var (status, text) = await fixture.Server.GetAsync("/health");
        Assert.Equal(200, status);
        Assert.Equal("ok", (string)JsonNode.Parse(text)!["status"]!);
    }

    [Fact]
    public async Task ServerAppTest_MetricsCountRequestsBatchesAndEvaluations()
    {
        await fixture.CompleteOk("""{"prompt":"M","max_tokens":16,"steps":6,"n":2,"seed":1}""");
        await fixture.Complete("""{"prompt":"M","steps":-1}""");
        var (status, text) = await fixture.Server.GetAsync("/metrics");
        Assert.Equal(200, status);
        Assert.Contains("sedd_http_requests_total{path=\"/v1/completions\",status=\"200\"}", text, StringComparison.Ordinal);
        Assert.Contains("sedd_http_requests_total{path=\"/v1/completions\",status=\"400\"}", text, StringComparison.Ordinal);
        Assert.Contains("sedd_http_request_duration_seconds_bucket{path=\"/v1/completions\",le=", text, StringComparison.Ordinal);
        foreach (var name in new[] { "sedd_network_evaluations_total", "sedd_row_evaluations_total", "sedd_batch_sequences_count", "sedd_generated_tokens_total", "process_working_set_bytes" })
            Assert.True(ServerProcess.Metric(text, name) > 0, $"{name} is not positive:\n{text}");
        Assert.Contains("sedd_cached_rows_total", text, StringComparison.Ordinal);
        Assert.Contains("sedd_queue_depth 0", text, StringComparison.Ordinal);
        Assert.Equal(8, ServerProcess.Metric(text, "sedd_batch_max_sequences"));
    }
}
