using System.IO.Compression;
using System.Text.Json.Nodes;
using Sedd.Exporter.Sources;
using Sedd.Runtime;
using Sedd.Runtime.Package;

namespace Sedd.Tests;

/// <summary>
/// Issue 3 point 7: every bad input gets one line and a non-zero exit, and leaves no folder (final or
/// temporary) under the output name; an existing package is refused without --force and replaced
/// atomically with it, surviving intact when the replacing export fails.
/// </summary>
public sealed class BadInputTest : IDisposable
{
    readonly string root = Directory.CreateTempSubdirectory("sedd-export-bad-").FullName;

    string Out => Path.Combine(root, "pkg");

    [Fact]
    public void BadInput_StateOfAnotherVersion()
    {
        var checkpoint = TinyCheckpoints.Create(root, "absorb");
        var state = Path.Combine(checkpoint, "state.json");
        var node = JsonNode.Parse(File.ReadAllText(state))!;
        node["format_version"] = 99;
        File.WriteAllText(state, node.ToJsonString());
        var e = ExportHarness.Fails(SeddException.BadInput, Out, () => ExportHarness.Export(checkpoint, Out));
        Assert.Contains("format version 99", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void BadInput_RandomZip()
    {
        var zip = Path.Combine(root, "random.pth");
        using (var archive = ZipFile.Open(zip, ZipArchiveMode.Create))
        using (var w = new StreamWriter(archive.CreateEntry("hello.txt").Open())) w.Write("not a checkpoint");
        var e = ExportHarness.Fails(SeddException.BadInput, Out, () => ExportHarness.Export(zip, Out, config: Yaml()));
        Assert.Contains("data.pkl", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void BadInput_TextFile()
    {
        var text = Path.Combine(root, "notes.txt");
        File.WriteAllText(text, "just some text\n");
        var e = ExportHarness.Fails(SeddException.BadInput, Out, () => ExportHarness.Export(text, Out, config: Yaml()));
        Assert.Contains("not a zip archive", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void BadInput_FolderOfAnotherKind()
    {
        var dir = Directory.CreateDirectory(Path.Combine(root, "somefolder")).FullName;
        File.WriteAllText(Path.Combine(dir, "x.txt"), "x");
        ExportHarness.Fails(SeddException.BadInput, Out, () => ExportHarness.Export(dir, Out));
    }

    [Fact]
    public void BadInput_MissingWeights()
    {
        var checkpoint = TinyCheckpoints.Create(root, "absorb");
        File.Delete(Path.Combine(checkpoint, "ema.safetensors"));
        var e = ExportHarness.Fails(SeddException.BadInput, Out, () => ExportHarness.Export(checkpoint, Out));
        Assert.Contains("ema.safetensors is missing", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void BadInput_TruncatedSafetensors()
    {
        var checkpoint = TinyCheckpoints.Create(root, "uniform");
        Truncate(Path.Combine(checkpoint, "ema.safetensors"));
        var e = ExportHarness.Fails(SeddException.BadInput, Out, () => ExportHarness.Export(checkpoint, Out));
        Assert.Contains("truncated", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void BadInput_TruncatedPth()
    {
        var pth = Directory.GetFiles(Goldens.PathOf("checkpoints"), "*.pth").Order(StringComparer.Ordinal).First();
        var copy = Path.Combine(root, "cut.pth");
        File.Copy(pth, copy);
        Truncate(copy);
        var e = ExportHarness.Fails(SeddException.BadInput, Out, () => ExportHarness.Export(copy, Out, config: Yaml()));
        Assert.Contains("not a readable PyTorch checkpoint", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void BadInput_TrainerConfigContradictsWeights()
    {
        var checkpoint = TinyCheckpoints.Create(root, "absorb", editConfig: c => c["model"]!["hidden_size"] = 64);
        var e = ExportHarness.Fails(SeddException.BadInput, Out, () => ExportHarness.Export(checkpoint, Out));
        Assert.Contains("hidden_size is 64 but the weights have 32", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void BadInput_HydraConfigContradictsWeights()
    {
        // One block more than the case's own config (and weights) have.
        var text = File.ReadAllText(Yaml());
        int blocks = (int)AuthorsConfig.ParseYaml(text, Yaml())["model"]!["n_blocks"]!.GetValue<double>();
        var edited = System.Text.RegularExpressions.Regex.Replace(text, @"(?m)^(\s*n_blocks:\s*)\d+\s*$", m => m.Groups[1].Value + (blocks + 1));
        Assert.NotEqual(text, edited);
        var yaml = Path.Combine(root, "config.yaml");
        File.WriteAllText(yaml, edited);
        var pth = Directory.GetFiles(Goldens.PathOf("checkpoints"), "*.pth").Order(StringComparer.Ordinal).First();
        var e = ExportHarness.Fails(SeddException.BadInput, Out, () => ExportHarness.Export(pth, Out, config: yaml));
        Assert.Contains($"model.n_blocks is {blocks + 1} but the weights have {blocks}", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void BadInput_ExistingOutput_RefusedWithoutForce_ReplacedWithIt()
    {
        var absorb = TinyCheckpoints.Create(Path.Combine(root, "a"), "absorb");
        var uniform = TinyCheckpoints.Create(Path.Combine(root, "u"), "uniform");
        ExportHarness.Export(absorb, Out);
        var before = Snapshot(Out);

        var e = Assert.Throws<SeddException>(() => ExportHarness.Export(uniform, Out));
        Assert.Equal(SeddException.Usage, e.ExitCode);
        Assert.Contains("--force", e.Message, StringComparison.Ordinal);
        Assert.Equal(before, Snapshot(Out));

        // --force but the new export dies mid-write: the old package is untouched.
        var fault = Assert.Throws<SeddException>(() => ExportHarness.Export(uniform, Out, force: true, faultAfter: f => { if (f == "README.md") throw new IOException("disk full (simulated)"); }));
        Assert.Equal(SeddException.Environment, fault.ExitCode);
        Assert.Equal(before, Snapshot(Out));
        Assert.Equal("absorb", ModelPackage.Open(Out).Manifest.Graph.Type);

        ExportHarness.Export(uniform, Out, force: true);
        Assert.Equal("uniform", ModelPackage.Open(Out).Manifest.Graph.Type);
        Assert.Equal([Out], Directory.GetDirectories(root, "pkg*"));
    }

    [Theory]
    [InlineData("model.onnx")]
    [InlineData("model.safetensors")]
    [InlineData("README.md")]
    [InlineData("manifest.json")]
    public void BadInput_DiskErrorMidWrite_LeavesNothing(string after)
    {
        var checkpoint = TinyCheckpoints.Create(root, "absorb");
        var e = ExportHarness.Fails(SeddException.Environment, Out,
            () => ExportHarness.Export(checkpoint, Out, faultAfter: f => { if (f == after) throw new IOException("No space left on device (simulated)"); }));
        Assert.Contains("No space left", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void BadInput_UnwritableDestination()
    {
        var blocker = Path.Combine(root, "file");
        File.WriteAllText(blocker, "a file where a folder should be");
        var target = Path.Combine(blocker, "pkg");
        var e = Assert.Throws<SeddException>(() => ExportHarness.Export(TinyCheckpoints.Create(root, "absorb"), target));
        Assert.Equal(SeddException.Environment, e.ExitCode);
        Assert.False(Directory.Exists(target));
    }

    static string Yaml() => Directory.GetFiles(Goldens.PathOf("checkpoints"), "*.yaml").Order(StringComparer.Ordinal).First();

    static void Truncate(string path)
    {
        var bytes = File.ReadAllBytes(path);
        File.WriteAllBytes(path, bytes[..(bytes.Length * 2 / 3)]);
    }

    static string Snapshot(string folder) => string.Join("\n", Directory.GetFiles(folder).Order(StringComparer.Ordinal)
        .Select(f => Path.GetFileName(f) + " " + PackagePaths.Sha256(f)));

    public void Dispose() => Directory.Delete(root, recursive: true);
}
