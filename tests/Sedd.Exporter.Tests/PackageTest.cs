using Sedd.Exporter;
using Sedd.Exporter.Sources;
using Sedd.Runtime;
using Sedd.Runtime.Package;
using Sedd.Tests.Shared;

namespace Sedd.Tests;

/// <summary>
/// The package an export writes: every file listed with its SHA-256, the manifest round-trips, a changed
/// byte is caught on open, nothing refers outside the folder; and every exported model.onnx passes the
/// reference ONNX checker (Debian's python3-onnx, full_check).
/// </summary>
public sealed class PackageTest : IDisposable
{
    readonly string root = Directory.CreateTempSubdirectory("sedd-export-package-").FullName;

    [Fact]
    public void Package_ManifestRoundTripsAndListsEveryFile()
    {
        var checkpoint = TinyCheckpoints.Create(root, "absorb");
        var result = ExportHarness.Export(checkpoint, Path.Combine(root, "pkg"));
        var json = File.ReadAllText(Path.Combine(result.Folder, ModelPackage.ManifestFile));
        var parsed = ModelManifest.Parse(json, "manifest.json");
        Assert.Equal(json, parsed.ToJson());
        Assert.Equal(result.Manifest.ToJson(), parsed.ToJson());

        var listed = parsed.Files.Keys.ToHashSet();
        var present = Directory.GetFiles(result.Folder, "*", SearchOption.AllDirectories)
            .Select(f => Path.GetRelativePath(result.Folder, f).Replace('\\', '/')).Where(f => f != ModelPackage.ManifestFile).ToHashSet();
        Assert.Equal(present.Order(), listed.Order());
        Assert.Contains("model.onnx", listed);
        Assert.Contains("model.safetensors", listed);
        Assert.Contains("README.md", listed);

        var m = parsed;
        Assert.Equal(("absorb", TinyCheckpoints.Tokens, TinyCheckpoints.Tokens + 1, (int?)TinyCheckpoints.Tokens), (m.Graph.Type, m.Graph.Tokens, m.Graph.States, m.Graph.MaskId));
        Assert.Equal("gpt2-256", m.Tokenizer);
        Assert.Equal(("sedd-train", "brown", 40L), (m.Provenance.Source, m.Provenance.Corpus, m.Provenance.Steps!.Value));
        Assert.Equal(TinyCheckpoints.Length, m.Length);
        Assert.Equal(["indices", "sigma"], m.Onnx.Inputs.Select(i => i.Name));

        // No file may name a path outside the package (the checkpoint's or the temporary folder's).
        foreach (var f in Directory.GetFiles(result.Folder))
        {
            var text = System.Text.Encoding.Latin1.GetString(File.ReadAllBytes(f));
            Assert.DoesNotContain(root, text, StringComparison.Ordinal);
        }
        var card = File.ReadAllText(Path.Combine(result.Folder, "README.md"));
        foreach (var section in new[] { "## Architecture", "## Provenance", "## Verification", "## Intended use", "## Known weaknesses" })
            Assert.Contains(section, card, StringComparison.Ordinal);
        // The card is read by users of the package, who cannot open our spec or issues.
        Assert.DoesNotContain("§", card, StringComparison.Ordinal);
        Assert.DoesNotMatch(@"(?i)\bissue\s*#?\d", card);
    }

    [Fact]
    public void Package_Notes_AppendedToTheModelCardAndChecksummed()
    {
        var source = SourceLoader.Load(TinyCheckpoints.Create(root, "absorb"), "ema", null, null, null);
        var result = PackageWriter.Write(source, Path.Combine(root, "pkg"), "fp32", false, null, TextWriter.Null,
            notes: "- trained for a test, on nothing much\n");
        var card = File.ReadAllText(Path.Combine(result.Folder, "README.md"));
        Assert.True(card.IndexOf("## Known weaknesses", StringComparison.Ordinal) < card.IndexOf("## Notes from training", StringComparison.Ordinal));
        Assert.Contains("- trained for a test, on nothing much", card, StringComparison.Ordinal);
        ModelPackage.Open(result.Folder); // the card with its notes is what the checksum covers
    }

    [Fact]
    public void Package_Evaluation_RecordedForFp32Only()
    {
        var source = SourceLoader.Load(TinyCheckpoints.Create(root, "absorb"), "ema", null, null, null);
        var evaluation = new EvaluationInfo { Split = "test", PerplexityBound = 123.4, Samples = 8 };
        var fp32 = PackageWriter.Write(source, Path.Combine(root, "fp32"), "fp32", false, evaluation, TextWriter.Null);
        var int8 = PackageWriter.Write(source, Path.Combine(root, "int8"), "int8", false, evaluation, TextWriter.Null);
        Assert.Equal(123.4, fp32.Manifest.Provenance.Evaluation!.PerplexityBound);
        Assert.Null(int8.Manifest.Provenance.Evaluation); // it measured the fp32 network, not the quantized graph
    }

    [Theory]
    [InlineData("fp32")]
    [InlineData("int8")]
    public void Package_ReleasingTheWeightsWritesTheSameFilesAndEmptiesTheSource(string precision)
    {
        var checkpoint = TinyCheckpoints.Create(root, "absorb");
        var kept = SourceLoader.Load(checkpoint, "ema", null, null, null);
        var released = SourceLoader.Load(checkpoint, "ema", null, null, null);
        var a = PackageWriter.Write(kept, Path.Combine(root, "kept"), precision, false, null, TextWriter.Null);
        var b = PackageWriter.Write(released, Path.Combine(root, "released"), precision, false, null, TextWriter.Null, releaseWeights: true);
        foreach (var file in new[] { "model.onnx", "model.safetensors" })
            Assert.Equal(a.Manifest.Files[file], b.Manifest.Files[file]);
        Assert.Equal(a.Manifest.Verification!.MaxAbsDiff, b.Manifest.Verification!.MaxAbsDiff);
        Assert.NotEmpty(kept.Weights);      // the default leaves the caller's source as it was
        Assert.Empty(released.Weights);     // released: verification ran without the checkpoint's copy
    }

    [Fact]
    public void Package_CorruptByte_FailsOnOpen()
    {
        var result = ExportHarness.Export(TinyCheckpoints.Create(root, "uniform"), Path.Combine(root, "pkg"));
        ModelPackage.Open(result.Folder);
        var weights = Path.Combine(result.Folder, "model.safetensors");
        var bytes = File.ReadAllBytes(weights);
        bytes[^3] ^= 0x40;
        File.WriteAllBytes(weights, bytes);
        var e = Assert.Throws<SeddException>(() => ModelPackage.Open(result.Folder));
        Assert.Contains("model.safetensors", e.Message, StringComparison.Ordinal);
        Assert.Contains("corrupt", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Package_Manifest_ParameterizationDefaultsToScoreAndIsChecked()
    {
        var result = ExportHarness.Export(TinyCheckpoints.Create(root, "absorb"), Path.Combine(root, "pkg"));
        var json = System.Text.Json.Nodes.JsonNode.Parse(File.ReadAllText(Path.Combine(result.Folder, ModelPackage.ManifestFile)))!.AsObject();
        Assert.Equal("score", (string?)json["model"]!["parameterization"]);
        // A manifest written before the field existed is a score package.
        json["model"]!.AsObject().Remove("parameterization");
        Assert.Equal("score", ModelManifest.Parse(json.ToJsonString(), "old manifest").Model.Parameterization);
        json["model"]!["parameterization"] = "normalized";
        Assert.Equal("normalized", ModelManifest.Parse(json.ToJsonString(), "normalized manifest").Model.Parameterization);
        json["model"]!["scale_by_sigma"] = false;
        var e = Assert.Throws<SeddException>(() => ModelManifest.Parse(json.ToJsonString(), "bad manifest"));
        Assert.Contains("model.parameterization", e.Message, StringComparison.Ordinal);
        json["model"]!["parameterization"] = "radd";
        Assert.Throws<SeddException>(() => ModelManifest.Parse(json.ToJsonString(), "bad manifest"));
    }

    [Theory]
    [InlineData("absorb", "score")]
    [InlineData("uniform", "score")]
    [InlineData("absorb", "normalized")]
    public void Package_Onnx_PassesReferenceCheckerFullCheck(string graph, string parameterization)
    {
        const string python = "/usr/bin/python3";
        Assert.True(File.Exists(python), $"{python} not found: install python3 and python3-onnx (apt-get install -y python3-onnx)");
        var probe = ToolProcess.RunExecutable(python, "-c", "import onnx");
        Assert.True(probe.Code == 0, $"{python} cannot import onnx: install it with `apt-get install -y python3-onnx` ({probe.Err.Trim()})");

        var result = ExportHarness.Export(TinyCheckpoints.Create(root, graph, parameterization: parameterization), Path.Combine(root, $"pkg-{graph}-{parameterization}"));
        var check = ToolProcess.RunExecutable(python, "-c", "import onnx,sys; onnx.checker.check_model(sys.argv[1], full_check=True); print('ok', onnx.__version__)",
            Path.Combine(result.Folder, "model.onnx"));
        Assert.True(check.Code == 0 && check.Out.StartsWith("ok", StringComparison.Ordinal), $"onnx.checker rejects the {graph} ({parameterization}) graph: {check.Err}");
    }

    public void Dispose() => Directory.Delete(root, recursive: true);
}
