using Sedd.Runtime.Noise;
using Sedd.Trainer.Data;
using Sedd.Trainer.Diffusion;
using Sedd.Trainer.Model;
using TorchSharp;
using static TorchSharp.torch;
using F = TorchSharp.torch.nn.functional;

namespace Sedd.Trainer.Training;

/// <summary>Builds the objective a config names (SEDD or the AR baseline), on a device, in its precision.</summary>
public static class Objectives
{
    /// <summary>A fresh objective for <paramref name="config"/> over the prepared data's vocabulary.</summary>
    /// <param name="config">Resolved config.</param>
    /// <param name="data">Prepared tokens (for the vocabulary size and the EOS id).</param>
    /// <param name="device">Training device.</param>
    public static IObjective Create(TrainConfig config, TokenDataset data, Device device)
    {
        bool bf16 = config.Training.Precision == "bf16";
        if (config.Objective == "ar")
        {
            var ar = new ArTransformer(config.Model, data.VocabSize) { Bf16Matmul = bf16 };
            ar.to(device);
            return new ArObjective(ar, data.EosId);
        }
        var graph = Graph.Create(config.Graph.Type, data.VocabSize);
        var noise = NoiseSchedule.Create(config.Noise.Type, config.Noise.SigmaMin, config.Noise.SigmaMax);
        var net = new ScoreNetwork(config.Model, (int)graph.Dim, scaleBySigma: graph.IsAbsorbing) { Bf16Matmul = bf16 };
        net.to(device);
        return new SeddObjective(net, new ScoreEntropyLoss(graph, noise), TimeSamplings.Parse(config.Training.TimeSampling));
    }
}

/// <summary>SEDD: the diffusion-weighted denoising score entropy of spec §4.1; training steps draw t by <paramref name="timeSampling"/>.</summary>
sealed class SeddObjective(ScoreNetwork network, ScoreEntropyLoss loss, TimeSampling timeSampling) : IObjective
{
    public nn.Module Network => network;

    public Tensor SequenceLoss(Tensor x0, Generator generator) =>
        loss.Compute((x, sigma) => network.call(x, sigma), x0, generator).PerSample;

    public Tensor TrainingLoss(Tensor x0, Generator generator) =>
        loss.Compute((x, sigma) => network.call(x, sigma), x0, generator, timeSampling).PerSample;

    public void Dispose() => network.Dispose();
}

/// <summary>
/// The autoregressive baseline: EOS is prepended (the block's "previous document end") and every one
/// of the L tokens is predicted from the tokens before it, so all L tokens are scored, as SEDD's bound
/// scores all L.
/// </summary>
sealed class ArObjective(ArTransformer network, int eos) : IObjective
{
    public nn.Module Network => network;

    public Tensor SequenceLoss(Tensor x0, Generator generator)
    {
        long b = x0.shape[0], l = x0.shape[1];
        var input = cat([full(b, 1, eos, dtype: ScalarType.Int64, device: x0.device), x0[.., ..(int)(l - 1)]], dim: 1);
        var logits = network.call(input);                                   // (B, L, V)
        var nll = F.cross_entropy(logits.reshape(b * l, -1).to(ScalarType.Float32), x0.reshape(b * l), reduction: nn.Reduction.None);
        return nll.view(b, l).sum(1);                                        // (B,)
    }

    public void Dispose() => network.Dispose();
}
