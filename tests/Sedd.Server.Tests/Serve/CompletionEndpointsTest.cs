using System.Globalization;
using System.Text.Json.Nodes;

namespace Sedd.Server.Tests.Serve;

/// <summary>POST /v1/completions and /v1/infill over real HTTP: OpenAI's reply shape, n, prompt arrays, echo, stop, long texts, and the same text as the CLI.</summary>
[Collection("server")]
public sealed class CompletionEndpointsTest(ServerFixture fixture)
{
    static string S(JsonNode? n) => (string)n!;

    static string[] Texts(JsonNode reply) => [.. reply["choices"]!.AsArray().Select(c => S(c!["text"]))];

    [Fact]
    public async Task CompletionEndpointsTest_ReplyIsAnOpenAiTextCompletion()
    {
        var reply = await fixture.CompleteOk($$"""{"model":"{{fixture.ModelId}}","prompt":"Once","max_tokens":24,"seed":5,"steps":8,"user":"u1"}""");
        Assert.StartsWith("cmpl-", S(reply["id"]), StringComparison.Ordinal);
        Assert.Equal("text_completion", S(reply["object"]));
        Assert.Equal(fixture.ModelId, S(reply["model"]));
        Assert.InRange((long)reply["created"]!, DateTimeOffset.UtcNow.ToUnixTimeSeconds() - 600, DateTimeOffset.UtcNow.ToUnixTimeSeconds() + 5);
        var choice = Assert.Single(reply["choices"]!.AsArray())!;
        Assert.Equal(0, (int)choice["index"]!);
        Assert.Null(choice["logprobs"]);
        Assert.Contains(S(choice["finish_reason"]), new[] { "stop", "length" });
        Assert.False(S(choice["text"]).StartsWith("Once", StringComparison.Ordinal) && S(choice["text"]).Length == 4, "the text is the completion only");
        var usage = reply["usage"]!;
        Assert.Equal((int)usage["prompt_tokens"]! + (int)usage["completion_tokens"]!, (int)usage["total_tokens"]!);
        Assert.InRange((int)usage["completion_tokens"]!, 0, 24 - (int)usage["prompt_tokens"]!);
        var sedd = reply["sedd"]!;
        Assert.Equal(5, (int)sedd["seed"]!);
        Assert.Equal(8, (int)sedd["steps"]!);
        Assert.Equal("analytic", S(sedd["sampler"]));
        Assert.Equal(1, (int)sedd["windows"]!);
        Assert.InRange((int)sedd["network_evaluations"]!, 1, 9);
        Assert.True((long)sedd["row_evaluations"]! >= 1);
    }

    [Theory]
    [InlineData("analytic", "")]
    [InlineData("euler", "in the end.")]
    [InlineData("first-hitting", "")]
    public async Task CompletionEndpointsTest_SameSeedGivesTheCliSamples(string sampler, string suffix)
    {
        string suffixField = suffix.Length > 0 ? $",\"suffix\":\"{suffix}\"" : "";
        var reply = await fixture.CompleteOk($$"""{"prompt":"The cat","max_tokens":28,"n":3,"seed":11,"steps":6,"sampler":"{{sampler}}"{{suffixField}}}""");
        string[] suffixArgs = suffix.Length > 0 ? ["--suffix", suffix] : [];
        var lines = Cli.Lines(["sample", "--model", fixture.Package.Folder, "--prompt", "The cat", "--length", "28", "--batch", "3", "--seed", "11",
            "--steps", "6", "--sampler", sampler, .. suffixArgs]);
        Assert.Equal(lines.Select(l => S(l["completion"])), Texts(reply));
        Assert.Equal(lines.Select(l => S(l["finish_reason"])), reply["choices"]!.AsArray().Select(c => S(c!["finish_reason"])));
        Assert.Equal(lines.Sum(l => (int)l["completion_tokens"]!), (int)reply["usage"]!["completion_tokens"]!);
    }

    [Fact]
    public async Task CompletionEndpointsTest_LongTextIsWrittenWindowByWindowAsTheCliWritesIt()
    {
        var reply = await fixture.CompleteOk("""{"prompt":"Once upon","max_tokens":80,"seed":3,"steps":5,"keep_eos":true}""");
        var line = Cli.Lines("sample", "--model", fixture.Package.Folder, "--prompt", "Once upon", "--length", "80", "--seed", "3", "--steps", "5", "--keep-eos")[0];
        Assert.Equal(S(line["completion"]), Texts(reply)[0]);
        Assert.Equal((int)line["windows"]!, (int)reply["sedd"]!["windows"]!);
        Assert.True((int)reply["sedd"]!["windows"]! > 1);
        Assert.Equal(80, (int)reply["usage"]!["total_tokens"]!);
    }

    [Fact]
    public async Task CompletionEndpointsTest_ManySamplesAreCutIntoBatchesWithoutChangingThem()
    {
        // n = 11 with --max-batch 8 runs as pieces of 8 and 3; sample i is still drawn from (seed, i).
        var reply = await fixture.CompleteOk("""{"prompt":"A","max_tokens":12,"n":11,"seed":21,"steps":4}""");
        var lines = Cli.Lines("sample", "--model", fixture.Package.Folder, "--prompt", "A", "--length", "12", "--batch", "11", "--seed", "21", "--steps", "4");
        Assert.Equal(lines.Select(l => S(l["completion"])), Texts(reply));
        Assert.Equal(Enumerable.Range(0, 11), reply["choices"]!.AsArray().Select(c => (int)c!["index"]!));
        Assert.True(Texts(reply).Distinct().Count() > 1, "samples of one request differ");
    }

    [Fact]
    public async Task CompletionEndpointsTest_PromptArrayGivesOneChoiceSetPerPrompt()
    {
        var both = await fixture.CompleteOk("""{"prompt":["Red","Blue sky"],"max_tokens":16,"n":2,"seed":8,"steps":4}""");
        var blue = await fixture.CompleteOk("""{"prompt":"Blue sky","max_tokens":16,"n":2,"seed":8,"steps":4}""");
        var red = await fixture.CompleteOk("""{"prompt":"Red","max_tokens":16,"n":2,"seed":8,"steps":4}""");
        Assert.Equal([0, 1, 2, 3], both["choices"]!.AsArray().Select(c => (int)c!["index"]!));
        Assert.Equal([.. Texts(red), .. Texts(blue)], Texts(both));
        Assert.Equal((int)red["usage"]!["prompt_tokens"]! + (int)blue["usage"]!["prompt_tokens"]!, (int)both["usage"]!["prompt_tokens"]!);
    }

    [Fact]
    public async Task CompletionEndpointsTest_EchoPrependsThePromptAndStopCutsTheCompletion()
    {
        const string body = """{"prompt":"Hello","max_tokens":32,"seed":13,"steps":4,"keep_eos":true}""";
        var plainReply = await fixture.CompleteOk(body);
        var plain = Texts(plainReply)[0];
        var echoed = Texts(await fixture.CompleteOk(body.Replace("}", ",\"echo\":true}", StringComparison.Ordinal)))[0];
        Assert.Equal("Hello" + plain, echoed);

        // A stop string taken from the middle of the text: the completion ends just before its first occurrence.
        Assert.True(plain.Length >= 8, plain);
        var stop = plain.Substring(plain.Length / 2, 2);
        var cut = await fixture.CompleteOk(body.Replace("}", $",\"stop\":[{System.Text.Json.JsonSerializer.Serialize(stop)},\"\\u0000never\"]}}", StringComparison.Ordinal));
        Assert.Equal(plain[..plain.IndexOf(stop, StringComparison.Ordinal)], Texts(cut)[0]);
        Assert.Equal("stop", S(cut["choices"]![0]!["finish_reason"]));
        Assert.True((int)cut["usage"]!["completion_tokens"]! < (int)plainReply["usage"]!["completion_tokens"]!);
    }

    [Fact]
    public async Task CompletionEndpointsTest_InfillFillsTheTemplateAsSeddInfillDoes()
    {
        const string template = "Hi [MASK:4] there [MASK:2]!";
        var (status, reply, _) = await fixture.Server.PostAsync("/v1/infill", $$"""{"template":"{{template}}","n":2,"seed":4,"steps":6}""", ServerFixture.ApiKey);
        Assert.True(status == 200, reply?.ToJsonString());
        var texts = Texts(reply!);
        Assert.All(texts, t => Assert.Matches("^Hi .* there .*!$", t));
        var lines = Cli.Lines("infill", template, "--model", fixture.Package.Folder, "--batch", "2", "--seed", "4", "--steps", "6");
        Assert.Equal(lines.Select(l => S(l["completion"])), texts);
        Assert.Equal("text_completion", S(reply!["object"]));
    }

    [Fact]
    public async Task CompletionEndpointsTest_RandomSeedIsReportedAndReproduces()
    {
        var first = await fixture.CompleteOk("""{"prompt":"Go","max_tokens":16,"steps":4}""");
        var seed = ((ulong)first["sedd"]!["seed"]!).ToString(CultureInfo.InvariantCulture);
        Assert.True((ulong)first["sedd"]!["seed"]! < 1UL << 53, "seeds survive JSON readers that parse numbers as doubles");
        var again = await fixture.CompleteOk($$"""{"prompt":"Go","max_tokens":16,"steps":4,"seed":{{seed}}}""");
        Assert.Equal(Texts(first), Texts(again));
    }

    [Fact]
    public async Task CompletionEndpointsTest_TokenChoiceFieldsReachTheSampler()
    {
        const string body = """{"prompt":"So","max_tokens":24,"seed":2,"steps":6,"n":4""";
        var neutral = Texts(await fixture.CompleteOk(body + "}"));
        var same = Texts(await fixture.CompleteOk(body + ""","temperature":1,"top_p":1,"top_k":-1}"""));
        var greedy = Texts(await fixture.CompleteOk(body + ""","temperature":0}"""));
        Assert.Equal(neutral, same);
        Assert.NotEqual(neutral, greedy);
        var cli = Cli.Lines("sample", "--model", fixture.Package.Folder, "--prompt", "So", "--length", "24", "--seed", "2", "--steps", "6", "--batch", "4", "--top-k", "3");
        Assert.Equal(cli.Select(l => S(l["completion"])), Texts(await fixture.CompleteOk(body + ""","top_k":3}""")));
    }
}
