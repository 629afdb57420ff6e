using Sedd.Exporter;
using Sedd.Runtime;
using Xunit.Abstractions;
using Xunit.Sdk;

namespace Sedd.Tests;

/// <summary>
/// The authors'-format stand-ins (goldens/checkpoints/hf-*): config.json + model.safetensors → ONNX
/// file on disk (large tensors as external data) → ORT output equal to the model_forward.json case
/// with the same graph type and sizes.
/// </summary>
public sealed class HubCheckpointTest(ITestOutputHelper output) : IDisposable
{
    readonly string folder = Directory.CreateTempSubdirectory("sedd-export-test-").FullName;

    public static TheoryData<string> Folders()
    {
        var data = new TheoryData<string>();
        foreach (var dir in Directory.GetDirectories(Goldens.PathOf("checkpoints"), "hf-*").Order(StringComparer.Ordinal))
            data.Add(Path.GetFileName(dir));
        return data;
    }

    [Theory]
    [MemberData(nameof(Folders))]
    public void HubCheckpoint_Export_MatchesGolden(string checkpoint)
    {
        var hub = HubCheckpoint.Load(Path.Combine(Goldens.PathOf("checkpoints"), checkpoint));
        var golden = MatchingCase(checkpoint, hub);
        var a = hub.Architecture with { MaxLength = Math.Max(hub.Architecture.MaxLength, golden.Length) };

        // Threshold 0: every initializer goes to the side file, so the external-data path is exercised.
        var path = Path.Combine(folder, checkpoint + ".onnx");
        var data = OnnxModelFile.Write(ScoreNetworkGraph.Build(a, hub.Weights, hub.Metadata), path, externalThreshold: 0);
        Assert.NotNull(data);
        Assert.True(new FileInfo(path).Length < 64 * 1024, "the .onnx should hold the graph only");

        using var session = new ScoreNetworkSession(path);
        Assert.Equal(golden.Architecture.Vocab, session.Vocab);
        var (y, shape) = session.Run(golden.Indices, golden.Sigma, golden.Length);
        Assert.Equal([golden.Batch, golden.Length, golden.Architecture.Vocab], shape);
        var (e, _) = Goldens.Tensor(golden.Expected);
        output.WriteLine($"{checkpoint} vs {golden.Name}: max |ORT − golden| = {e.Zip(y, (p, q) => Math.Abs(p - q)).Max():E2}");
        Goldens.AssertClose($"{checkpoint} as {golden.Name}", "output", golden.Expected, ScoreNetworkGraphTest.ToDoubles(y), Tolerance.Float32);
    }

    [Fact]
    public void HubCheckpoint_Load_RejectsInconsistentConfig()
    {
        var source = Directory.GetDirectories(Goldens.PathOf("checkpoints"), "hf-*").Order(StringComparer.Ordinal).First();
        var copy = Path.Combine(folder, "bad");
        Directory.CreateDirectory(copy);
        File.Copy(Path.Combine(source, "model.safetensors"), Path.Combine(copy, "model.safetensors"));
        var config = System.Text.Json.Nodes.JsonNode.Parse(File.ReadAllText(Path.Combine(source, "config.json")))!;
        config["tokens"] = (int)config["tokens"]! + 5;
        File.WriteAllText(Path.Combine(copy, "config.json"), config.ToJsonString());
        var e = Assert.Throws<SeddException>(() => HubCheckpoint.Load(copy));
        Assert.Contains("vocab_embed.embedding", e.Message, StringComparison.Ordinal);
    }

    /// <summary>The one model_forward case with the checkpoint's graph type and sizes (dispatch on data, not names).</summary>
    static GoldenModel MatchingCase(string checkpoint, HubCheckpoint hub)
    {
        var graph = hub.Metadata["sedd.graph"];
        var matches = Goldens.Cases("model_forward.json")
            .Where(c => (string?)c["params"]!["graph"] == graph)
            .Select(c => GoldenModel.Load((string)c["name"]!))
            .Where(m => m.Architecture with { MaxLength = 1 } == hub.Architecture with { MaxLength = 1 })
            .ToList();
        if (matches.Count != 1)
            throw new XunitException($"{checkpoint}: expected exactly one model_forward case with graph '{graph}' and its sizes, found {matches.Count}");
        return matches[0];
    }

    public void Dispose() => Directory.Delete(folder, recursive: true);
}
