using System.Text;
using CsCheck;
using System.Text.Json.Nodes;
using Sedd.Runtime.Package;
using Sedd.Tests.Shared;

namespace Sedd.Runtime.Tests.Package;

/// <summary>
/// manifest.json is a file from elsewhere: a key given twice, an unknown key, a non-finite number, a
/// length of 2^31 − 1 or other absurd dimensions, a path out of the package are all a bad manifest
/// (exit 2) with one line; random and mutated manifests never end in another exception.
/// </summary>
public sealed class ModelManifestTest
{
    static readonly string ValidJson = new ModelManifest
    {
        Graph = new GraphInfo { Type = "absorb", Tokens = 257, States = 258, MaskId = 257 },
        Noise = new NoiseInfo { Type = "loglinear", Eps = 1e-3 },
        Length = 32,
        Tokenizer = "gpt2-256",
        Model = new ModelInfo { HiddenSize = 16, CondDim = 8, NBlocks = 1, NHeads = 2, Parameters = 12345, ScaleBySigma = true, TimeIndependent = false },
        Onnx = new OnnxInfo
        {
            Opset = 17,
            Inputs = [new() { Name = "indices", Type = "int64", Shape = ["batch", "seq"] }, new() { Name = "sigma", Type = "float32", Shape = ["batch"] }],
            Outputs = [new() { Name = "log_score", Type = "float32", Shape = ["batch", "seq", "258"] }],
        },
        Provenance = new ProvenanceInfo { Source = "sedd-train", Evaluation = new EvaluationInfo { Split = "test", PerplexityBound = 150 } },
        Verification = new VerificationInfo { Reference = "torchsharp", MaxAbsDiff = 1e-5, Cases = 36 },
        Files = new SortedDictionary<string, string>(StringComparer.Ordinal) { ["model.onnx"] = new string('a', 64), ["README.md"] = new string('b', 64) },
    }.ToJson();

    static string With(string path, string json)
    {
        var root = JsonNode.Parse(ValidJson)!.AsObject();
        var keys = path.Split('.');
        JsonObject o = root;
        foreach (var k in keys[..^1]) o = o[k]!.AsObject();
        o[keys[^1]] = JsonNode.Parse(json);
        return root.ToJsonString();
    }

    [Fact]
    public void ModelManifest_ValidParses() => Assert.Equal(32, ModelManifest.Parse(ValidJson, "manifest.json").Length);

    public static TheoryData<string, string> Bad() => new()
    {
        { With("length", "2147483647"), "length must be between 1 and" },
        { With("length", "0"), "length must be between 1 and" },
        { With("graph.tokens", "2147483647"), "graph.tokens must be between 2 and" },
        { With("model.hidden_size", "1000000"), "model dimensions are inconsistent" },
        { With("model.n_blocks", "100000"), "model dimensions are inconsistent" },
        { With("model.n_heads", "3"), "model dimensions are inconsistent" },
        { With("model.cond_dim", "-1"), "model.cond_dim must be between" },
        { With("model.parameters", "-5"), "model.parameters must be positive" },
        { With("noise", """{"type":"geometric","sigma_min":1e-4,"sigma_max":1e999}"""), "finite" },
        { With("noise.eps", "1e999"), "noise.eps must lie between 0 and 1" },
        { With("noise.eps", "0"), "noise.eps must lie between 0 and 1" },
        { With("provenance.evaluation.perplexity_bound", "-3"), "perplexity_bound must be a finite number" },
        { With("provenance.evaluation.perplexity_bound", "1e999"), "perplexity_bound must be a finite number" },
        { With("verification.max_abs_diff", "1e999"), "max_abs_diff must be a finite number" },
        { With("files", """{"model.onnx":"%","../secret":"%"}""".Replace("%", new string('a', 64), StringComparison.Ordinal)), "not a plain path inside the package" },
        { With("files", """{"model.onnx":"%","manifest.json":"%"}""".Replace("%", new string('a', 64), StringComparison.Ordinal)), "cannot hold its own checksum" },
        { With("onnx.file", "\"../model.onnx\""), "not a plain path inside the package" },
        { With("surprise", "1"), "is not a valid manifest" },
        { ValidJson.Replace("\"length\": 32,", "\"length\": 32, \"length\": 33,", StringComparison.Ordinal), "Duplicate" },
        { ValidJson.Replace("\"README.md\": ", "\"model.onnx\": \"" + new string('c', 64) + "\", \"README.md\": ", StringComparison.Ordinal), "Duplicate" },
        { ValidJson.Replace("\"length\": 32,", "\"length\": 32, \"deep\": " + new string('[', 100) + new string(']', 100) + ",", StringComparison.Ordinal), "is not a valid manifest" },
        { "[]", "is not a SEDD model manifest" },
        { "", "is not a valid manifest" },
    };

    [Theory]
    [MemberData(nameof(Bad))]
    public void ModelManifest_Bad_IsBadInput(string json, string expected)
    {
        var e = Assert.Throws<SeddException>(() => ModelManifest.Parse(json, "manifest.json"));
        Assert.Equal(SeddException.BadInput, e.ExitCode);
        Assert.DoesNotContain('\n', e.Message);
        Assert.True(e.Message.Contains(expected, StringComparison.Ordinal), e.Message);
    }

    [Fact]
    public void ModelManifest_Fuzz_MutatedManifests()
    {
        var valid = Encoding.UTF8.GetBytes(ValidJson);
        Fuzz.Mutations(valid).Sample(bytes =>
            Fuzz.Expect(() => ModelManifest.Parse(Encoding.UTF8.GetString(bytes), "manifest.json"), "mutated manifest"), iter: 3000, threads: 1);
    }

    [Fact]
    public void ModelManifest_Fuzz_ValuesOfEveryKind()
    {
        // Every leaf of the manifest replaced by a value of another kind or an extreme one.
        string[] values = ["null", "true", "-1", "0", "1e999", "-1e999", "2147483648", "9223372036854775808", "1.5", "\"\"", "\"x\"", "[]", "{}", "\"\\u001b[2J\""];
        var leaves = new List<string>();
        void Walk(JsonNode? n, string path)
        {
            if (n is JsonObject o) foreach (var (k, v) in o) Walk(v, path.Length == 0 ? k : path + "." + k);
            else if (path.Length > 0 && !path.Contains('[', StringComparison.Ordinal)) leaves.Add(path);
        }
        Walk(JsonNode.Parse(ValidJson), "");
        foreach (var leaf in leaves.Where(l => !l.StartsWith("files.", StringComparison.Ordinal)))
            foreach (var v in values)
                Fuzz.Expect(() => ModelManifest.Parse(With(leaf, v), "manifest.json"), $"{leaf} = {v}");
    }
}
