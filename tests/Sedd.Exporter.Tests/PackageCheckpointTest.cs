using System.Globalization;
using Sedd.Runtime;
using Sedd.Trainer.Data;
using Sedd.Trainer.Training;

namespace Sedd.Tests;

/// <summary>
/// <c>sedd-train eval PACKAGE --data DIR</c> (trainer/Training/PackageCheckpoint.cs): an exported fp32
/// package scores exactly what the checkpoint it came from scores, with the same seed and draws; an
/// int8 package and a package without --data are refused in one line.
/// </summary>
public sealed class PackageCheckpointTest : IDisposable
{
    readonly string root = Directory.CreateTempSubdirectory("sedd-package-eval-").FullName;

    /// <summary>A prepared gpt2-256 corpus (the tiny checkpoints' 257-token vocabulary), beside the checkpoint's own data folder.</summary>
    string PrepareData()
    {
        var corpus = Path.Combine(root, "corpus");
        Directory.CreateDirectory(corpus);
        string[] sentences = ["The jury said the election was conducted well. ", "A cat sat on the warm mat in the sun. ", "Numbers one, two and three were read aloud. "];
        for (int d = 0; d < 24; d++)
            File.WriteAllText(Path.Combine(corpus, string.Create(CultureInfo.InvariantCulture, $"doc{d}.txt")),
                string.Concat(Enumerable.Range(d, 12).Select(i => sentences[i % sentences.Length])));
        var data = Path.Combine(root, "prepared");
        new PrepareCommand(TextWriter.Null).Run(new PrepareOptions { Corpus = corpus, Output = data, Tokenizer = "gpt2-256", CacheDir = Path.Combine(root, "cache") });
        return data;
    }

    static EvalResult Eval(string model, string? data) =>
        EvalRunner.Run(model, "test", samples: 3, maxBlocks: 0, batch: 4, data, seed: 99, threads: 1, TextWriter.Null);

    [Theory]
    [InlineData("score")]
    [InlineData("normalized")]
    public void PackageCheckpointTest_PackageBoundEqualsTheCheckpointsBound(string parameterization)
    {
        var data = PrepareData();
        var checkpoint = TinyCheckpoints.Create(root, "absorb", parameterization: parameterization);
        var package = ExportHarness.Export(checkpoint, Path.Combine(root, "pkg")).Folder;

        var fromCheckpoint = Eval(checkpoint, data);
        var fromPackage = Eval(package, data);
        Assert.True(fromCheckpoint.Blocks > 0 && fromCheckpoint.Samples == 3);
        Assert.Equal(fromCheckpoint.Tokens, fromPackage.Tokens);
        Assert.True(Math.Abs(fromCheckpoint.Diffusion - fromPackage.Diffusion) <= 1e-6,
            $"{parameterization}: package {fromPackage.Diffusion:R} vs checkpoint {fromCheckpoint.Diffusion:R} nats/token");
        Assert.True(Math.Abs(fromCheckpoint.StandardError - fromPackage.StandardError) <= 1e-6);
        Assert.Equal(fromCheckpoint.Prior, fromPackage.Prior, 12);
        // Not vacuous: another seed draws other times and scores differently.
        var otherSeed = EvalRunner.Run(package, "test", samples: 3, maxBlocks: 0, batch: 4, data, seed: 100, threads: 1, TextWriter.Null);
        Assert.NotEqual(fromPackage.Diffusion, otherSeed.Diffusion);
    }

    [Fact]
    public void PackageCheckpointTest_RefusesInt8AndAPackageWithoutData()
    {
        var data = PrepareData();
        var checkpoint = TinyCheckpoints.Create(root, "absorb", parameterization: "normalized");
        var int8 = ExportHarness.Export(checkpoint, Path.Combine(root, "int8"), precision: "int8").Folder;   // the normalized graph quantizes too
        var e = Assert.Throws<SeddException>(() => Eval(int8, data));
        Assert.Equal(SeddException.BadInput, e.ExitCode);
        Assert.Contains("int8", e.Message, StringComparison.Ordinal);
        Assert.Contains("sedd-compare", e.Message, StringComparison.Ordinal);
        Assert.DoesNotContain('\n', e.Message);

        var fp32 = ExportHarness.Export(checkpoint, Path.Combine(root, "fp32")).Folder;
        e = Assert.Throws<SeddException>(() => Eval(fp32, null));
        Assert.Equal(SeddException.Usage, e.ExitCode);
        Assert.Contains("--data", e.Message, StringComparison.Ordinal);
        Assert.DoesNotContain('\n', e.Message);
    }

    public void Dispose() => Directory.Delete(root, recursive: true);
}
