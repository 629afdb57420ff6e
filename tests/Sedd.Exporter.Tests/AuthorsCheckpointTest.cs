using Sedd.Exporter;
using Sedd.Exporter.Sources;
using Sedd.Exporter.Verification;
using Sedd.Runtime;
using Xunit.Abstractions;
using Xunit.Sdk;

namespace Sedd.Tests;

/// <summary>
/// The authors'-format stand-ins of goldens/checkpoints (hub folders with model.safetensors and with
/// pytorch_model.bin only; the run_train.py .pth with its Hydra YAML) import, export, and the ONNX
/// graph reproduces model_forward.json within the float32 tolerance; the .pth's online weights do not.
/// </summary>
public sealed class AuthorsCheckpointTest(ITestOutputHelper output) : IDisposable
{
    readonly string folder = Directory.CreateTempSubdirectory("sedd-export-authors-").FullName;

    static string Checkpoints => Goldens.PathOf("checkpoints");

    public static TheoryData<string, string> HubSources()
    {
        var data = new TheoryData<string, string>();
        foreach (var dir in Directory.GetDirectories(Goldens.PathOf("checkpoints"), "hf-*").Order(StringComparer.Ordinal))
            foreach (var file in new[] { "model.safetensors", "pytorch_model.bin" })
                if (File.Exists(Path.Combine(dir, file))) data.Add(Path.GetFileName(dir), file);
        return data;
    }

    public static TheoryData<string> PthFiles()
    {
        var data = new TheoryData<string>();
        foreach (var f in Directory.GetFiles(Goldens.PathOf("checkpoints"), "*.pth").Order(StringComparer.Ordinal)) data.Add(Path.GetFileName(f));
        return data;
    }

    [Theory]
    [MemberData(nameof(HubSources))]
    public void AuthorsCheckpoint_Hub_MatchesGolden(string hub, string weightsFile)
    {
        // A folder holding config.json and only the one weights file under test.
        var copy = Path.Combine(folder, hub + "-" + weightsFile);
        Directory.CreateDirectory(copy);
        File.Copy(Path.Combine(Checkpoints, hub, "config.json"), Path.Combine(copy, "config.json"));
        File.Copy(Path.Combine(Checkpoints, hub, weightsFile), Path.Combine(copy, weightsFile));
        var source = SourceLoader.Load(copy, "ema", null, null, null);
        Assert.Equal("hf", source.Kind);
        AssertGolden($"{hub}/{weightsFile}", source, expectMatch: true);
    }

    [Theory]
    [MemberData(nameof(PthFiles))]
    public void AuthorsCheckpoint_Pth_EmaMatchesGoldenOnlineDoesNot(string pth)
    {
        var path = Path.Combine(Checkpoints, pth);
        var yaml = Path.ChangeExtension(path, ".hydra-config.yaml");
        var ema = SourceLoader.Load(path, "ema", null, null, yaml);
        Assert.Equal("pth", ema.Kind);
        Assert.Equal("ema", ema.WeightsKind);
        AssertGolden(pth + " (ema)", ema, expectMatch: true);
        var online = SourceLoader.Load(path, "online", null, null, yaml);
        Assert.NotEqual(ema.Weights["blocks.0.attn_qkv.weight"].Data, online.Weights["blocks.0.attn_qkv.weight"].Data);
        AssertGolden(pth + " (online)", online, expectMatch: false);
    }

    [Fact]
    public void AuthorsCheckpoint_PickleAndSafetensors_AreBitIdentical()
    {
        foreach (var dir in Directory.GetDirectories(Checkpoints, "hf-*"))
        {
            var a = Sedd.Runtime.IO.Safetensors.Read(Path.Combine(dir, "model.safetensors")).Tensors;
            var b = HubCheckpoint.StateDict(TorchPickle.Load(Path.Combine(dir, "pytorch_model.bin")), dir);
            Assert.Equal(a.Keys.Order(StringComparer.Ordinal), b.Keys.Order(StringComparer.Ordinal));
            foreach (var (name, t) in a)
            {
                Assert.Equal(t.Shape, b[name].Shape);
                Assert.True(t.Data.AsSpan().SequenceEqual(b[name].Data), $"{dir}: {name} differs between the two files");
            }
        }
    }

    /// <summary>The toy vocabulary (10 tokens) has no tokenizer, so the package writer refuses it with one line, writing nothing.</summary>
    [Fact]
    public void AuthorsCheckpoint_ToyVocabulary_IsRefusedAsPackage()
    {
        var dir = Directory.GetDirectories(Checkpoints, "hf-*").Order(StringComparer.Ordinal).First();
        var outDir = Path.Combine(folder, "pkg");
        var e = ExportHarness.Fails(SeddException.BadInput, outDir, () => ExportHarness.Export(dir, outDir));
        Assert.Contains("matches no tokenizer", e.Message, StringComparison.Ordinal);
    }

    void AssertGolden(string what, ExportSource source, bool expectMatch)
    {
        var golden = Match(what, source);
        var a = source.Architecture with { MaxLength = Math.Max(source.Architecture.MaxLength, golden.Length) };
        var path = Path.Combine(folder, Guid.NewGuid().ToString("N") + ".onnx");
        OnnxModelFile.Write(ScoreNetworkGraph.Build(a, source.Weights), path);
        using var session = new ScoreNetworkSession(path);
        var (y, _) = session.Run(golden.Indices, golden.Sigma, golden.Length);
        var (e, _) = Goldens.Tensor(golden.Expected);
        double max = e.Zip(y, (p, q) => Math.Abs(p - q)).Max();
        output.WriteLine($"{what} vs {golden.Name}: max |ORT − golden| = {max:E2}");
        if (expectMatch) Goldens.AssertClose($"{what} as {golden.Name}", "output", golden.Expected, ScoreNetworkGraphTest.ToDoubles(y), Tolerance.Float32);
        else Assert.Throws<XunitException>(() => Goldens.AssertClose(what, "output", golden.Expected, ScoreNetworkGraphTest.ToDoubles(y), Tolerance.Float32));

        // The exporter's own check against the TorchSharp forward. Not for the deliberately shifted online
        // weights: their log-scores reach ~1e2, where float32 rounding alone approaches the absolute 1e-4.
        if (!expectMatch) return;
        using var reference = TorchReference.TryCreate(source with { Architecture = a }, out var why) ?? throw new InvalidOperationException(why);
        var info = ExportVerifier.Run(source with { Architecture = a }, path, null, reference, null);
        Assert.True(info.MaxAbsDiff <= ExportVerifier.Fp32Limit, $"{what}: verification {info.MaxAbsDiff}");
    }

    /// <summary>The one model_forward case with the source's graph type and sizes (dispatch on data, not names).</summary>
    static GoldenModel Match(string what, ExportSource source)
    {
        var matches = Goldens.Cases("model_forward.json")
            .Where(c => (string?)c["params"]!["graph"] == source.GraphType)
            .Select(c => GoldenModel.Load((string)c["name"]!))
            .Where(m => m.Architecture with { MaxLength = 1 } == source.Architecture with { MaxLength = 1 })
            .ToList();
        if (matches.Count != 1)
            throw new XunitException($"{what}: expected exactly one model_forward case with graph '{source.GraphType}' and its sizes, found {matches.Count}");
        return matches[0];
    }

    public void Dispose() => Directory.Delete(folder, recursive: true);
}
