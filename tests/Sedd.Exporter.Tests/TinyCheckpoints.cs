using System.Text.Json.Nodes;
using Sedd.Trainer.Model;
using Sedd.Trainer.Training;
using TorchSharp;
using static TorchSharp.torch;

[assembly: CollectionBehavior(DisableTestParallelization = true)]   // torch's seed and thread pool are process-wide

namespace Sedd.Tests;

/// <summary>
/// Random tiny SEDD networks saved as real sedd-train checkpoints (trainer/Training/Checkpoint.cs), with
/// a prepared-data meta.json beside them. The fresh network is adaLN-zero (constant output), so every
/// parameter is redrawn from N(0, 0.2²) under a fixed torch seed; the EMA weights are a second draw,
/// so a test can tell which set was exported.
/// </summary>
static class TinyCheckpoints
{
    /// <summary>Real tokens of the tiny models: the smallest vocabulary a tokenizer exists for (gpt2-256).</summary>
    public const int Tokens = 257;

    /// <summary>Block length of the tiny models.</summary>
    public const int Length = 12;

    /// <summary>Writes a run folder with one checkpoint (<paramref name="parameterization"/> in its config) and returns the checkpoint folder (sizes: the tiny defaults unless given).</summary>
    public static string Create(string root, string graph, long seed = 7, Action<JsonObject>? editConfig = null, string parameterization = "score",
        int tokens = Tokens, int length = Length, int hidden = 32)
    {
        var data = Path.Combine(root, "data");
        Directory.CreateDirectory(data);
        var tokenizer = tokens == 50257 ? "gpt2" : $"gpt2-{tokens - 1}";
        File.WriteAllText(Path.Combine(data, "meta.json"),
            new JsonObject { ["format"] = "sedd-tokens", ["tokenizer"] = tokenizer, ["vocab_size"] = tokens, ["corpus"] = "brown" }.ToJsonString());
        var config = new TrainConfig
        {
            Data = data,
            Output = Path.Combine(root, "run"),
            Graph = new GraphConfig { Type = graph },
            Noise = graph == "absorb" ? new NoiseConfig { Type = "loglinear" } : new NoiseConfig { Type = "geometric", SigmaMin = 1e-4, SigmaMax = 20 },
            Model = new ModelConfig { HiddenSize = hidden, CondDim = 16, NBlocks = 2, NHeads = 4, Dropout = 0, Length = length, Parameterization = parameterization },
        };
        int vocab = graph == "absorb" ? tokens + 1 : tokens;
        using var scope = NewDisposeScope();
        manual_seed(seed);
        using var online = Random(config.Model, vocab, graph == "absorb");
        using var ema = Random(config.Model, vocab, graph == "absorb");
        var folder = Checkpoint.Save(config.Output, config, new TrainState { Step = 40, Tokens = 40 * 8 * length },
            online.state_dict().Select(p => (p.Key, p.Value)), ema.state_dict().Select(p => (p.Key, p.Value)), []);
        if (editConfig != null)
        {
            var path = Path.Combine(folder, "config.json");
            var node = JsonNode.Parse(File.ReadAllText(path))!.AsObject();
            editConfig(node);
            File.WriteAllText(path, node.ToJsonString());
        }
        return folder;
    }

    static ScoreNetwork Random(ModelConfig config, int vocab, bool scale)
    {
        var net = new ScoreNetwork(config, vocab, scale);
        using var noGrad = no_grad();
        foreach (var p in net.parameters()) p.copy_(randn_like(p) * 0.2);
        return net;
    }
}
