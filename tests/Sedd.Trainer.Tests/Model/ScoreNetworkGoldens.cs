using System.Text.Json.Nodes;
using Sedd.Tests;
using Sedd.Trainer.Model;
using TorchSharp;
using Xunit.Sdk;
using static TorchSharp.torch;

namespace Sedd.Trainer.Tests.Model;

/// <summary>
/// Reads model_forward.json cases into TorchSharp: architecture from the case's params and weight
/// shapes, weights by state_dict name, inputs. Reused by the training-step golden test (training_check).
/// </summary>
static class ScoreNetworkGoldens
{
    public const string File = "model_forward.json";

    /// <summary>Architecture of a case: params give H, heads, cond_dim, blocks and scale_by_sigma; the vocabulary comes from the embedding's shape.</summary>
    public static (ModelConfig Config, int Vocab, bool ScaleBySigma) Architecture(JsonObject c)
    {
        var name = (string)c["name"]!;
        var function = (string)c["function"]!;
        if (!function.StartsWith("SEDD.forward", StringComparison.Ordinal))
            throw new XunitException($"{File} case {name}: unknown function {function}");
        var p = c["params"]!.AsObject();
        var vocab = Goldens.Shape(c["weights"]!["vocab_embed.embedding"]!)[0];
        var length = Goldens.Shape(c["inputs"]!["indices"]!)[1];
        var config = new ModelConfig
        {
            HiddenSize = (int)p["hidden_size"]!,
            NHeads = (int)p["n_heads"]!,
            CondDim = (int)p["cond_dim"]!,
            NBlocks = (int)p["n_blocks"]!,
            Dropout = (double)p["dropout"]!,
            Length = length,
        };
        return (config, vocab, (bool)p["scale_by_sigma"]!);
    }

    /// <summary>Every tensor of the case's state_dict, by name, in <paramref name="dtype"/>.</summary>
    public static Dictionary<string, Tensor> Weights(JsonObject c, ScalarType dtype)
    {
        var weights = new Dictionary<string, Tensor>();
        foreach (var (name, node) in c["weights"]!.AsObject()) weights[name] = ToTensor(node!, dtype);
        return weights;
    }

    /// <summary>A network with the case's architecture and weights, in <paramref name="dtype"/>, in eval mode.</summary>
    public static ScoreNetwork LoadNetwork(JsonObject c, ScalarType dtype = ScalarType.Float32)
    {
        var (config, vocab, scaleBySigma) = Architecture(c);
        var net = new ScoreNetwork(config, vocab, scaleBySigma);
        if (dtype != ScalarType.Float32) net.to(dtype);
        using (var scope = NewDisposeScope()) net.LoadWeights(Weights(c, dtype), $"{File}:{c["name"]}");
        net.eval();
        return net;
    }

    /// <summary>inputs.indices (int64) and inputs.sigma (in <paramref name="dtype"/>).</summary>
    public static (Tensor Indices, Tensor Sigma) Inputs(JsonObject c, ScalarType dtype)
    {
        var inputs = c["inputs"]!;
        var (idx, shape) = Goldens.Tensor(inputs["indices"]!);
        var indices = tensor(Array.ConvertAll(idx, d => checked((long)d)), Array.ConvertAll(shape, s => (long)s));
        return (indices, ToTensor(inputs["sigma"]!, dtype));
    }

    public static Tensor ToTensor(JsonNode node, ScalarType dtype)
    {
        var (data, shape) = Goldens.Tensor(node);
        return tensor(data, Array.ConvertAll(shape, s => (long)s)).to_type(dtype);
    }

    public static double[] ToDoubles(Tensor t) => t.detach().to_type(ScalarType.Float64).contiguous().data<double>().ToArray();
}
