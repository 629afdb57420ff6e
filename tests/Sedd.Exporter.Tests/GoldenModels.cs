using System.Text.Json.Nodes;
using Google.Protobuf;
using Sedd.Exporter;
using Sedd.Runtime.IO;
using Xunit.Sdk;

namespace Sedd.Tests;

/// <summary>One model_forward.json case turned into exporter inputs: weights, architecture, inputs, expected output.</summary>
sealed record GoldenModel(
    string Name,
    ScoreNetworkArchitecture Architecture,
    Dictionary<string, SafeTensor> Weights,
    long[] Indices,
    float[] Sigma,
    int Batch,
    int Length,
    JsonNode Expected,
    JsonObject Params)
{
    /// <summary>
    /// Reads a case. The architecture comes from the weight shapes plus params.n_heads and
    /// params.scale_by_sigma; every other size in params must agree with the shapes, and the fixed
    /// constants (frequency embedding, MLP ratio, rotary base, LayerNorm eps) are taken from params when given.
    /// </summary>
    public static GoldenModel Load(string caseName, int? maxLength = null)
    {
        var c = Goldens.Case("model_forward.json", caseName);
        var function = (string?)c["function"] ?? "";
        if (!function.StartsWith("SEDD.forward", StringComparison.Ordinal))
            throw new XunitException($"{caseName}: unknown function '{function}' (this test knows SEDD.forward)");
        var p = c["params"]!.AsObject();
        var weights = new Dictionary<string, SafeTensor>(StringComparer.Ordinal);
        foreach (var (name, node) in c["weights"]!.AsObject())
        {
            var (data, shape) = Goldens.Tensor(node!);
            weights[name] = SafeTensor.FromFloats(Array.ConvertAll(data, d => (float)d), Array.ConvertAll(shape, d => (long)d));
        }
        var (indices, ishape) = Goldens.Tensor(c["inputs"]!["indices"]!);
        int batch = ishape[0], length = ishape[1];
        var arch = ScoreNetworkArchitecture.Infer(weights, (int)p["n_heads"]!, (bool)p["scale_by_sigma"]!, maxLength ?? length,
            p["rotary_base"] is JsonNode rb ? (double)rb : 10000);
        if (p["layer_norm_eps"] is JsonNode eps) arch = arch with { LayerNormEps = (float)(double)eps };
        Agree(caseName, p, "vocab_size", arch.Vocab);
        Agree(caseName, p, "hidden_size", arch.HiddenSize);
        Agree(caseName, p, "cond_dim", arch.CondDim);
        Agree(caseName, p, "n_blocks", arch.Blocks);
        Agree(caseName, p, "frequency_embedding_size", arch.FrequencyEmbeddingSize);
        if (p["mlp_ratio"] is JsonNode ratio && (int)ratio * arch.HiddenSize != arch.MlpHidden)
            throw new XunitException($"{caseName}: params.mlp_ratio {ratio} disagrees with MLP width {arch.MlpHidden}");
        if (p["scale_by_sigma"] is JsonNode s && (bool)s && (string?)p["graph"] == "uniform")
            throw new XunitException($"{caseName}: scale_by_sigma with a uniform graph is not a reference configuration");
        return new GoldenModel(caseName, arch, weights, Array.ConvertAll(indices, d => checked((long)d)),
            Array.ConvertAll(Goldens.Doubles(c["inputs"]!["sigma"]!), d => (float)d), batch, length, c["expected"]!["output"]!, p);
    }

    static void Agree(string caseName, JsonObject p, string key, int inferred)
    {
        if (p[key] is JsonNode n && (int)n != inferred)
            throw new XunitException($"{caseName}: params.{key} is {n} but the weights give {inferred}");
    }

    /// <summary>Builds the ONNX model and opens it in ORT (CPU, all optimisations).</summary>
    public ScoreNetworkSession Open(ScoreNetworkArchitecture? architecture = null) =>
        new(ScoreNetworkGraph.Build(architecture ?? Architecture, Weights).ToByteArray());
}
