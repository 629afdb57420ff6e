using System.Text.Json.Nodes;
using Sedd.Runtime.Tests.Onnx;
using Sedd.Tests.Shared;

namespace Sedd.Runtime.Tests.Cli;

/// <summary>A shared time-independent tiny package (window 32) for long generation and first-hitting.</summary>
public sealed class TimeIndependentPackageFixture : IDisposable
{
    public TinyPackage Package { get; } = TinyPackage.Create(length: 32, timeIndependent: true);

    public void Dispose() => Package.Dispose();
}

/// <summary>sedd sample's generation options end to end: long texts, batches of samples, files, token choice, samplers.</summary>
public sealed class SeddGenerationCliTest(TimeIndependentPackageFixture fixture) : IClassFixture<TimeIndependentPackageFixture>
{
    string Model => fixture.Package.Folder;

    ToolResult Sample(params string[] args) => SeddProcess.Run(["sample", "--model", Model, "--provider", "cpu", "--steps", "8", .. args]);

    static JsonObject[] Lines(ToolResult r) =>
        [.. r.Out.Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(l => JsonNode.Parse(l)!.AsObject())];

    [Fact]
    public void SeddGenerationCliTest_LongTextIsWrittenWindowByWindowReproducibly()
    {
        string[] args = ["--length", "100", "--prompt", "Once upon", "--keep-eos", "--seed", "5", "--format", "jsonl"];
        var r = Sample(args);
        Assert.True(r.Code == 0, r.ToString());
        var o = Lines(r)[0];
        Assert.StartsWith("Once upon", (string)o["text"]!, StringComparison.Ordinal);
        Assert.Equal(100, (int)o["length"]!);
        Assert.Equal(100, (int)o["completion_tokens"]! + (int)o["prompt_tokens"]!);
        // Window 32, overlap 8: 32 + 24 + 24 + 24 = 104 ≥ 100 tokens, so 4 windows.
        Assert.Equal(4, (int)o["windows"]!);
        Assert.InRange((int)o["network_evaluations"]!, 4, 4 * 9);
        Assert.Equal((string)o["text"]!, (string)Lines(Sample(args))[0]["text"]!);
    }

    [Fact]
    public void SeddGenerationCliTest_SamplesDrawnInBatchesEqualSamplesDrawnTogether()
    {
        var together = Sample("--batch", "4", "--seed", "9", "--keep-eos", "--format", "jsonl");
        var inTwos = Sample("--batch", "2", "--num-samples", "4", "--seed", "9", "--keep-eos", "--format", "jsonl");
        Assert.True(together.Code == 0 && inTwos.Code == 0, together + "\n" + inTwos);
        Assert.Equal(Lines(together).Select(o => (string)o["text"]!), Lines(inTwos).Select(o => (string)o["text"]!));
        Assert.Equal([0, 1, 2, 3], Lines(inTwos).Select(o => (int)o["index"]!));
    }

    [Fact]
    public void SeddGenerationCliTest_TextModeNamesTheSeedOnStderrAndNeutralisesControls()
    {
        for (int seed = 0; seed < 4; seed++)
        {
            var r = Sample("--seed", seed.ToString(System.Globalization.CultureInfo.InvariantCulture), "--batch", "3", "--keep-eos");
            Assert.True(r.Code == 0, r.ToString());
            Assert.Contains($"seed {seed}", r.Err, StringComparison.Ordinal);
            Assert.DoesNotContain(r.Out, c => c < ' ' && c != '\n' && c != '\t' || c is >= '\u007f' and <= '\u009f');
        }
    }

    [Fact]
    public void SeddGenerationCliTest_OutputFileIsWrittenWholeAndNeverReplacedUnasked()
    {
        var dir = Directory.CreateTempSubdirectory("sedd-out-");
        try
        {
            var file = Path.Combine(dir.FullName, "samples.jsonl");
            var r = Sample("--seed", "3", "--format", "jsonl", "-o", file);
            Assert.True(r.Code == 0, r.ToString());
            Assert.Equal("", r.Out);
            Assert.Equal((string)Lines(Sample("--seed", "3", "--format", "jsonl"))[0]["text"]!, (string)JsonNode.Parse(File.ReadAllText(file))!["text"]!);
            File.WriteAllText(file, "mine");
            SeddProcess.AssertOneLineFailure(Sample("--seed", "3", "-o", file), 1, "already exists", "--force");
            Assert.Equal("mine", File.ReadAllText(file));
            Assert.True(Sample("--seed", "3", "-o", file, "--force").Code == 0);
            Assert.NotEqual("mine", File.ReadAllText(file));
            Assert.Single(Directory.GetFiles(dir.FullName));
        }
        finally { dir.Delete(true); }
    }

    [Fact]
    public void SeddGenerationCliTest_TemperatureOneIsTheDefaultAndOtherValuesChangeTheText()
    {
        var plain = Sample("--seed", "4", "--batch", "4", "--keep-eos");
        Assert.Equal(plain.Out, Sample("--seed", "4", "--batch", "4", "--keep-eos", "--temperature", "1", "--top-p", "1", "--top-k", "0").Out);
        Assert.NotEqual(plain.Out, Sample("--seed", "4", "--batch", "4", "--keep-eos", "--temperature", "0.2").Out);
        Assert.NotEqual(plain.Out, Sample("--seed", "4", "--batch", "4", "--keep-eos", "--top-k", "1").Out);
    }

    [Fact]
    public void SeddGenerationCliTest_FirstHittingCallsTheNetworkOncePerGeneratedToken()
    {
        var r = Sample("--sampler", "first-hitting", "--prompt", "Hi", "--length", "20", "--keep-eos", "--format", "jsonl", "--seed", "2");
        Assert.True(r.Code == 0, r.ToString());
        var o = Lines(r)[0];
        Assert.Equal("first-hitting", (string)o["sampler"]!);
        Assert.Equal(20 - (int)o["prompt_tokens"]!, (int)o["network_evaluations"]!);
    }

    [Fact]
    public void SeddGenerationCliTest_NPredictCountsOnlyNewTokens()
    {
        var r = Sample("--prompt", "Hello there", "-n", "10", "--keep-eos", "--format", "jsonl");
        Assert.True(r.Code == 0, r.ToString());
        var o = Lines(r)[0];
        Assert.Equal(10, (int)o["completion_tokens"]!);
        Assert.Equal((int)o["prompt_tokens"]! + 10, (int)o["length"]!);
    }
}
