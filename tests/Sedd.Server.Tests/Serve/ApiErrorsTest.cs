using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json.Nodes;

namespace Sedd.Server.Tests.Serve;

/// <summary>Every refusal is OpenAI's error object with the right status, and one log line without a stack trace.</summary>
[Collection("server")]
public sealed class ApiErrorsTest(ServerFixture fixture)
{
    static void AssertError(int status, JsonNode? body, int expectedStatus, string? param, params string[] words)
    {
        Assert.True(status == expectedStatus, $"expected {expectedStatus}, got {status}: {body?.ToJsonString()}");
        var error = body!["error"]!.AsObject();
        Assert.Equal(["message", "type", "param", "code"], error.Select(p => p.Key));
        var message = (string)error["message"]!;
        Assert.DoesNotContain("\n", message, StringComparison.Ordinal);
        Assert.DoesNotContain("   at ", message, StringComparison.Ordinal);
        Assert.Equal(param, (string?)error["param"]);
        Assert.Equal(expectedStatus switch { 401 => "authentication_error", 429 => "rate_limit_error", >= 500 => "server_error", _ => "invalid_request_error" }, (string)error["type"]!);
        foreach (var w in words) Assert.Contains(w, message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("{\"prompt\":", null, "not valid JSON")]
    [InlineData("[1,2]", null, "JSON object")]
    [InlineData("{\"prompt\":\"a\",\"prompt\":\"b\"}", null, "Duplicate")]
    [InlineData("{\"prompt\":\"a\",\"step\":3}", "step", "unknown field 'step'")]
    [InlineData("{\"prompt\":5}", "prompt", "must be a string or an array of strings")]
    [InlineData("{\"prompt\":[]}", "prompt", "empty array")]
    [InlineData("{\"prompt\":[[1,2]]}", "prompt", "token ids")]
    [InlineData("{\"prompt\":\"\\ud800\"}", "prompt", "lone surrogate")]
    [InlineData("{\"prompt\":\"a\",\"max_tokens\":\"9\"}", "max_tokens", "must be an integer, got a string")]
    [InlineData("{\"prompt\":\"a\",\"max_tokens\":9.5}", "max_tokens", "integer")]
    [InlineData("{\"prompt\":\"a\",\"max_tokens\":0}", "max_tokens", "≥ 1")]
    [InlineData("{\"prompt\":\"a\",\"max_tokens\":100000000}", "max_tokens", "must lie in")]
    [InlineData("{\"prompt\":\"a long prompt that fills it\",\"max_tokens\":3}", "max_tokens", "leave nothing to generate")]
    [InlineData("{\"prompt\":\"a\",\"n\":0}", "n", "1 … 128")]
    [InlineData("{\"prompt\":\"a\",\"n\":100,\"suffix\":\"b\",\"stream\":\"yes\"}", "stream", "true or false")]
    [InlineData("{\"prompt\":[\"a\",\"b\",\"c\"],\"n\":100}", "n", "at most 256")]
    [InlineData("{\"prompt\":\"a\",\"steps\":0}", "steps", "must be ≥ 1")]
    [InlineData("{\"prompt\":\"a\",\"steps\":1000000}", "steps", "100,000")]
    [InlineData("{\"prompt\":\"a\",\"seed\":-1}", "seed", "integer in 0")]
    [InlineData("{\"prompt\":\"a\",\"temperature\":1000}", "temperature", "temperature")]
    [InlineData("{\"prompt\":\"a\",\"top_p\":0}", "top_p", "top_p must lie in (0, 1]")]
    [InlineData("{\"prompt\":\"a\",\"sampler\":\"ddim\"}", "sampler", "euler, analytic or first-hitting")]
    [InlineData("{\"prompt\":\"a\",\"logprobs\":3}", "logprobs", "not supported")]
    [InlineData("{\"prompt\":\"a\",\"frequency_penalty\":0.5}", "frequency_penalty", "not supported")]
    [InlineData("{\"prompt\":\"a\",\"stop\":[\"a\",\"b\",\"c\",\"d\",\"e\"]}", "stop", "at most 4")]
    [InlineData("{\"prompt\":\"a\",\"stream_options\":{\"x\":1}}", "stream_options", "include_usage")]
    [InlineData("{\"prompt\":\"a\",\"overlap\":40,\"max_tokens\":90}", "overlap", "must lie in")]
    public async Task ApiErrorsTest_BadRequestsAre400NamingTheField(string json, string? param, string words)
    {
        var (status, body, _) = await fixture.Complete(json);
        AssertError(status, body, 400, param, words);
    }

    [Fact]
    public async Task ApiErrorsTest_InvalidUtf8InATextIsNamedAsSuch()
    {
        byte[] json = [.. "{\"prompt\":\"Hi "u8, 0xFF, 0xFE, .. "\"}"u8];
        using var request = new HttpRequestMessage(HttpMethod.Post, "/v1/completions") { Content = new ByteArrayContent(json) };
        request.Content.Headers.ContentType = new MediaTypeHeaderValue("application/json");
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", ServerFixture.ApiKey);
        using var response = await fixture.Server.Client.SendAsync(request);
        AssertError((int)response.StatusCode, JsonNode.Parse(await response.Content.ReadAsStringAsync()), 400, "prompt", "not valid UTF-8");
    }

    [Fact]
    public async Task ApiErrorsTest_InfillChecksItsTemplate()
    {
        var (status, body, _) = await fixture.Server.PostAsync("/v1/infill", """{"n":2}""", ServerFixture.ApiKey);
        AssertError(status, body, 400, "template", "template is required");
        (status, body, _) = await fixture.Server.PostAsync("/v1/infill", """{"template":"[MASK:999]"}""", ServerFixture.ApiKey);
        AssertError(status, body, 400, "template");
        (status, body, _) = await fixture.Server.PostAsync("/v1/infill", """{"template":"a [MASK]","prompt":"b"}""", ServerFixture.ApiKey);
        AssertError(status, body, 400, "prompt", "unknown field");
    }

    [Fact]
    public async Task ApiErrorsTest_DeepNestingIsRefusedNotRecursedInto()
    {
        var json = "{\"prompt\":" + new string('[', 5000) + new string(']', 5000) + "}";
        var (status, body, _) = await fixture.Complete(json);
        AssertError(status, body, 400, null, "depth");
    }

    [Fact]
    public async Task ApiErrorsTest_OversizedBodyIs413WithOrWithoutLength()
    {
        var big = "{\"prompt\":\"" + new string('a', 2 << 20) + "\"}";
        var (status, body, _) = await fixture.Complete(big);
        AssertError(status, body, 413, null, "1 MiB");

        // Chunked, so the server learns the size only while reading.
        using var request = new HttpRequestMessage(HttpMethod.Post, "/v1/completions") { Content = new ChunkedContent(Encoding.UTF8.GetBytes(big)) };
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", ServerFixture.ApiKey);
        using var response = await fixture.Server.Client.SendAsync(request);
        AssertError((int)response.StatusCode, JsonNode.Parse(await response.Content.ReadAsStringAsync()), 413, null, "1 MiB");
    }

    [Fact]
    public async Task ApiErrorsTest_MissingOrWrongApiKeyIs401()
    {
        var (status, body, _) = await fixture.Server.PostAsync("/v1/completions", """{"prompt":"a"}""");
        AssertError(status, body, 401, null, "missing API key");
        Assert.Equal("invalid_api_key", (string)body!["error"]!["code"]!);
        (status, body, _) = await fixture.Server.PostAsync("/v1/completions", """{"prompt":"a"}""", "sk-wrong");
        AssertError(status, body, 401, null, "incorrect API key");
        var (modelsStatus, _) = await fixture.Server.GetAsync("/v1/models");
        Assert.Equal(401, modelsStatus);
        // Probes and scrapers need no key.
        Assert.Equal(200, (await fixture.Server.GetAsync("/health")).Status);
        Assert.Equal(200, (await fixture.Server.GetAsync("/metrics")).Status);
    }

    [Fact]
    public async Task ApiErrorsTest_UnknownModelOrEndpointIs404AndAWrongMethod405()
    {
        var (status, body, _) = await fixture.Complete("""{"model":"gpt-4","prompt":"a"}""");
        AssertError(status, body, 404, "model", "does not exist", fixture.ModelId);
        Assert.Equal("model_not_found", (string)body!["error"]!["code"]!);
        var (s2, text) = await fixture.Server.GetAsync("/v1/models/gpt-4", ServerFixture.ApiKey);
        AssertError(s2, JsonNode.Parse(text), 404, "model");
        var (s3, text3) = await fixture.Server.GetAsync("/v1/chat/completions", ServerFixture.ApiKey);
        AssertError(s3, JsonNode.Parse(text3), 404, null, "/v1/completions");
        var (s4, text4) = await fixture.Server.GetAsync("/v1/completions", ServerFixture.ApiKey);
        AssertError(s4, JsonNode.Parse(text4), 405, null, "GET is not allowed", "POST /v1/completions");
    }

    [Fact]
    public async Task ApiErrorsTest_EveryRequestIsOneNeutralisedLogLine()
    {
        await fixture.Complete("{\"prompt\":\"a\",\"\\u001b[31mevil\":1}");
        var line = fixture.Server.WaitForLine(l => l.Contains("evil", StringComparison.Ordinal), TimeSpan.FromSeconds(10));
        Assert.DoesNotContain("\u001b", line, StringComparison.Ordinal);
        Assert.Contains("\\x1b", line, StringComparison.Ordinal);
        Assert.Matches(@"^sedd: POST /v1/completions 400 \d+ ms — ", line);
        fixture.Server.AssertNoStackTraces();
    }

    /// <summary>A body sent with Transfer-Encoding: chunked (no Content-Length).</summary>
    sealed class ChunkedContent(byte[] data) : HttpContent
    {
        protected override Task SerializeToStreamAsync(Stream stream, TransportContext? context) => stream.WriteAsync(data).AsTask();

        protected override bool TryComputeLength(out long length)
        {
            length = 0;
            return false;
        }
    }
}
