using System.Net.Http.Headers;
using System.Text;
using System.Text.Json.Nodes;

namespace Sedd.Server.Tests.Serve;

/// <summary>stream: true — Server-Sent Events in OpenAI's chunk format: whole canvases per step, a final chunk per choice, usage, [DONE].</summary>
[Collection("server")]
public sealed class SseResponseTest(ServerFixture fixture)
{
    /// <summary>The data payloads of an event stream, in order.</summary>
    internal static async Task<(HttpResponseMessage Response, List<string> Events)> Stream(ServerProcess server, string path, string json, string? key)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, path) { Content = new StringContent(json, Encoding.UTF8, "application/json") };
        if (key != null) request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", key);
        var response = await server.Client.SendAsync(request, HttpCompletionOption.ResponseHeadersRead);
        var events = new List<string>();
        using var reader = new StreamReader(await response.Content.ReadAsStreamAsync());
        while (await reader.ReadLineAsync() is { } line)
        {
            if (line.Length == 0) continue;
            Assert.StartsWith("data: ", line, StringComparison.Ordinal);
            events.Add(line["data: ".Length..]);
        }
        return (response, events);
    }

    [Fact]
    public async Task SseResponseTest_StreamsWholeCanvasesThenFinalChunksThenDone()
    {
        // First-hitting unmasks exactly one token per step, so every canvas but the last shows masks.
        const string body = """{"prompt":"Tea","max_tokens":14,"n":2,"seed":6,"sampler":"first-hitting","keep_eos":true}""";
        var (response, events) = await Stream(fixture.Server, "/v1/completions", body.Replace("}", ",\"stream\":true}", StringComparison.Ordinal), ServerFixture.ApiKey);
        Assert.Equal(200, (int)response.StatusCode);
        Assert.Equal("text/event-stream", response.Content.Headers.ContentType!.MediaType);
        Assert.Equal("[DONE]", events[^1]);
        var chunks = events[..^1].Select(e => JsonNode.Parse(e)!).ToList();
        Assert.All(chunks, c => Assert.Equal("text_completion", (string)c["object"]!));
        Assert.Single(chunks.Select(c => (string)c["id"]!).Distinct());

        var whole = await fixture.CompleteOk(body);
        for (int choice = 0; choice < 2; choice++)
        {
            var mine = chunks.Where(c => (int)c["choices"]![0]!["index"]! == choice).ToList();
            var steps = mine.Where(c => c["choices"]![0]!["finish_reason"] == null).ToList();
            int total = (int)steps[0]["sedd"]!["steps"]!;
            Assert.True(total >= 2, $"{total} steps");
            // One canvas per step, each the whole completion so far: step k leaves total − k masks.
            Assert.Equal(Enumerable.Range(1, total), steps.Select(c => (int)c["sedd"]!["step"]!));
            for (int k = 0; k < total; k++)
                Assert.Equal(total - 1 - k, ((string)steps[k]["choices"]![0]!["text"]!).Count(ch => ch == '░'));
            var final = Assert.Single(mine, c => c["choices"]![0]!["finish_reason"] != null);
            Assert.Equal((string)whole["choices"]![choice]!["text"]!, (string)final["choices"]![0]!["text"]!);
            Assert.Equal((string)whole["choices"]![choice]!["finish_reason"]!, (string)final["choices"]![0]!["finish_reason"]!);
            Assert.Equal((string)final["choices"]![0]!["text"]!, (string)steps[^1]["choices"]![0]!["text"]!);
        }
        // The run's cost comes with the last final chunk.
        Assert.Equal(6, (int)chunks[^1]["sedd"]!["seed"]!);
    }

    [Fact]
    public async Task SseResponseTest_IntervalThinsTheCanvasesAndUsageComesLast()
    {
        var (_, events) = await Stream(fixture.Server, "/v1/completions",
            """{"prompt":"Tea","max_tokens":20,"seed":6,"steps":8,"stream":true,"stream_interval":3,"stream_options":{"include_usage":true}}""", ServerFixture.ApiKey);
        var chunks = events[..^1].Select(e => JsonNode.Parse(e)!).ToList();
        // Steps 3 and 6, and the last of the 9 steps (8 predictor steps and the denoiser).
        Assert.Equal([3, 6, 9], chunks.Where(c => c["sedd"]?["step"] != null).Select(c => (int)c["sedd"]!["step"]!));
        var usage = chunks[^1];
        Assert.Empty(usage["choices"]!.AsArray());
        Assert.Equal((int)usage["usage"]!["prompt_tokens"]! + (int)usage["usage"]!["completion_tokens"]!, (int)usage["usage"]!["total_tokens"]!);
    }

    [Fact]
    public async Task SseResponseTest_InfillStreamsTheWholeTemplate()
    {
        var (_, events) = await Stream(fixture.Server, "/v1/infill", """{"template":"Hi [MASK:3] you","seed":1,"steps":3,"stream":true}""", ServerFixture.ApiKey);
        var first = JsonNode.Parse(events[0])!;
        Assert.StartsWith("Hi ", (string)first["choices"]![0]!["text"]!, StringComparison.Ordinal);
        Assert.EndsWith(" you", (string)first["choices"]![0]!["text"]!, StringComparison.Ordinal);
        Assert.Equal("[DONE]", events[^1]);
    }

    [Fact]
    public async Task SseResponseTest_ARequestRefusedBeforeItStartsIsAPlainJsonError()
    {
        var (status, body, response) = await fixture.Complete("""{"prompt":"x","stream":true,"steps":0}""");
        Assert.Equal(400, status);
        Assert.Equal("application/json", response.Content.Headers.ContentType!.MediaType);
        Assert.Equal("steps", (string)body!["error"]!["param"]!);
    }
}
