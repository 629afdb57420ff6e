using Sedd.Runtime.Onnx;
using Sedd.Runtime.Package;
using Sedd.Trainer.Data;
using Sedd.Trainer.Diffusion;
using Sedd.Trainer.Training;
using TorchSharp;
using static TorchSharp.torch;

namespace Sedd.Compare;

/// <summary>
/// The perplexity bound of spec §4.3 computed through a package's ONNX graph instead of the TorchSharp
/// network: the trainer's loss and evaluator, with every network call answered by ONNX Runtime. Run on an
/// fp32 and an int8 package with the same seed, the time and noise draws are identical, so the difference
/// of the two bounds is what int8 costs.
/// </summary>
static class PackageBound
{
    /// <summary>Evaluates <paramref name="package"/> on a prepared split.</summary>
    /// <param name="package">Package folder.</param>
    /// <param name="data">Prepared data folder (same tokenizer as the package).</param>
    /// <param name="split">Split name ("test").</param>
    /// <param name="blocks">At most this many blocks (0 = all).</param>
    /// <param name="samples">K time samples per sequence.</param>
    /// <param name="threads">ONNX Runtime threads.</param>
    public static EvalResult Run(string package, string data, string split, int blocks, int samples, int threads)
    {
        var p = ModelPackage.Open(package);
        var m = p.Manifest;
        using var dataset = TokenDataset.Open(data, DataSplits.Parse(split));
        if (dataset.VocabSize != m.Graph.Tokens)
            throw new Runtime.SeddException($"{data} has {dataset.VocabSize} token ids but {package} was trained on {m.Graph.Tokens}", Runtime.SeddException.BadInput);
        using var network = OnnxScoreNetwork.Open(p, new OnnxScoreNetworkOptions { Provider = ExecutionProvider.Cpu, Threads = threads });
        var graph = Graph.Create(m.Graph.Type, m.Graph.Tokens);
        var loss = new ScoreEntropyLoss(graph, m.CreateNoise());
        using var objective = new OnnxObjective(network, loss);
        double prior = Evaluator.PriorPerToken(m.Graph.Type, m.Graph.Tokens, m.CreateNoise().MaxTotalNoise);
        return Evaluator.Evaluate(objective, "sedd", dataset, split, m.Length, batch: 8, samples, blocks, prior, seed: 1234, CPU);
    }

    /// <summary>SEDD's objective with ONNX Runtime as the network.</summary>
    sealed class OnnxObjective(OnnxScoreNetwork network, ScoreEntropyLoss loss) : IObjective
    {
        readonly nn.Module placeholder = nn.Identity();

        public nn.Module Network => placeholder;

        public Tensor SequenceLoss(Tensor x0, Generator generator) => loss.Compute(Forward, x0, generator).PerSample;

        Tensor Forward(Tensor indices, Tensor sigma)
        {
            int b = (int)indices.shape[0], l = (int)indices.shape[1];
            var tokens = indices.cpu().data<long>().ToArray();
            var s = sigma.to(ScalarType.Float32).cpu().data<float>().ToArray();
            var y = new float[(long)b * l * network.States];
            network.Score(tokens, s, y);
            return tensor(y, [b, l, network.States]);
        }

        public void Dispose() => placeholder.Dispose();
    }
}
