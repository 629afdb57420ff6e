using System.Globalization;
using System.Text.Json.Nodes;
using Sedd.Runtime.Onnx;
using Sedd.Runtime.Package;
using Sedd.Runtime.Tests.Cli;
using Sedd.Tests;

namespace Sedd.Runtime.Tests;

/// <summary>
/// The committed default model (the one package under models/, what <c>sedd</c> uses with no options):
/// intact, small enough, a trained network, and described consistently by its manifest, its model card,
/// <c>sedd info</c> and the <c>sedd-train eval</c> result it was exported with (docs/results/default-model-test.json).
/// </summary>
public sealed class DefaultModelTest
{
    static readonly CultureInfo Inv = CultureInfo.InvariantCulture;

    static string Folder
    {
        get
        {
            var models = Path.Combine(Goldens.RepoRoot, "models");
            var packages = Directory.GetDirectories(models).Where(d => File.Exists(Path.Combine(d, ModelPackage.ManifestFile))).ToArray();
            Assert.True(packages.Length == 1, $"models/ must hold exactly one package (sedd picks it with no options); found {packages.Length}");
            return packages[0];
        }
    }

    [Fact]
    public void DefaultModelTest_OpensWithItsChecksumsAndFitsTheSizeLimit()
    {
        var package = ModelPackage.Open(Folder); // verifies every file's SHA-256 against the manifest
        var m = package.Manifest;
        Assert.Equal("absorb", m.Graph.Type);
        Assert.Equal("fp32", m.Onnx.Precision);
        Assert.Equal("brown", m.Provenance.Corpus);
        long bytes = m.Files.Keys.Sum(f => new FileInfo(package.PathOf(f)).Length) + new FileInfo(package.PathOf(ModelPackage.ManifestFile)).Length;
        Assert.True(bytes <= 50L * 1024 * 1024, $"the committed package is {bytes / 1048576.0:F1} MiB; the limit is 50 MB");
    }

    [Fact]
    public void DefaultModelTest_CardInfoAndEvalAgree()
    {
        var package = ModelPackage.Open(Folder, verifyChecksums: false);
        var ev = package.Manifest.Provenance.Evaluation;
        Assert.True(ev != null, "the default package must record its test evaluation (sedd-export --eval)");

        // The sedd-train eval result the package was exported with.
        var eval = JsonNode.Parse(File.ReadAllText(Path.Combine(Goldens.RepoRoot, "docs", "results", "default-model-test.json")))!.AsObject();
        Assert.Equal((string?)eval["split"], ev.Split);
        Assert.Equal((double)eval["perplexity"]!, ev.PerplexityBound, 9);
        Assert.Equal((double)eval["diffusion"]!, ev.NatsPerToken!.Value, 9);
        Assert.Equal((double)eval["standard_error"]!, ev.StandardError!.Value, 9);
        Assert.Equal((int)eval["samples"]!, ev.Samples);

        string bound = ev.PerplexityBound.ToString("F2", Inv), nats = ev.NatsPerToken.Value.ToString("F4", Inv);
        string steps = package.Manifest.Provenance.Steps!.Value.ToString("N0", Inv), tokens = package.Manifest.Provenance.Tokens!.Value.ToString("N0", Inv);

        var card = File.ReadAllText(package.PathOf("README.md"));
        Assert.Contains($"test split: {bound} (diffusion term {nats} nats/token", card, StringComparison.Ordinal);
        Assert.Contains($"Training steps: {steps}", card, StringComparison.Ordinal);
        Assert.Contains($"Training tokens: {tokens}", card, StringComparison.Ordinal);

        // sedd info with no --model finds the same package (from its own folder, up to models/).
        var info = SeddProcess.Run("info");
        Assert.True(info.Code == 0, info.ToString());
        Assert.Contains($"test perplexity ≤ {bound}, diffusion term {nats} nats/token", info.Out, StringComparison.Ordinal);
        Assert.Contains($"steps {steps}, tokens {tokens}", info.Out, StringComparison.Ordinal);
    }

    [Fact]
    public void DefaultModelTest_PredictsFrequentWordsIntoAnEmptyCanvas()
    {
        var package = ModelPackage.Open(Folder, verifyChecksums: false);
        using var network = OnnxScoreNetwork.Open(package, new OnnxScoreNetworkOptions { Provider = ExecutionProvider.Cpu, Threads = 1 });
        int length = 16, states = network.States, mask = package.Manifest.Graph.MaskId!.Value;
        var tokens = Enumerable.Repeat((long)mask, length).ToArray();
        var logScore = new float[length * states];
        network.Score(tokens, [5f], logScore);
        Assert.All(logScore, v => Assert.True(float.IsFinite(v)));

        // With nothing to condition on, a trained model ranks the corpus's most frequent tokens first at
        // every position; an untrained or scrambled network would not.
        var tokenizer = package.CreateTokenizer();
        string[] frequent = [" the", ",", ".", " of", " and", " to", " a", " in", "\n", " was", " he", " is", " that"];
        for (int p = 0; p < length; p++)
        {
            var row = logScore.AsSpan(p * states, mask); // real tokens only
            int best = System.Numerics.Tensors.TensorPrimitives.IndexOfMax(row);
            string text = tokenizer.Decode([best]);
            Assert.True(frequent.Contains(text), $"position {p}: top token '{text}' ({best}) is not one of the most frequent Brown tokens");
        }
    }
}
