using System.Globalization;
using Sedd.Runtime.Onnx;
using Sedd.Runtime.Package;
using Sedd.Trainer.Data;
using Sedd.Trainer.Diffusion;
using Sedd.Trainer.Training;
using TorchSharp;
using static TorchSharp.torch;

namespace Sedd.Compare;

/// <summary>
/// The perplexity upper bound (SEDD's diffusion term plus the prior term) computed through a package's ONNX graph instead of the TorchSharp
/// network: the trainer's loss and evaluator, with every network call answered by ONNX Runtime. Run on an
/// fp32 and an int8 package with the same seed, the time and noise draws are identical, so the difference
/// of the two bounds is what int8 costs.
/// </summary>
static class PackageBound
{
    /// <summary>
    /// The bound block of the report: the fp32 package and, if given, the int8 one with the same draws,
    /// and what int8 costs on the bound.
    /// </summary>
    /// <param name="package">fp32 package folder.</param>
    /// <param name="int8">int8 package folder, or null.</param>
    /// <param name="data">Prepared data folder.</param>
    /// <param name="blocks">Test blocks (0 = all).</param>
    /// <param name="samples">K.</param>
    /// <param name="threads">ONNX Runtime threads.</param>
    /// <param name="o">Report.</param>
    /// <param name="progress">Where a line per package goes before it is scored.</param>
    /// <param name="cancel">Checked before every forward pass.</param>
    public static void Report(string package, string? int8, string data, int blocks, int samples, int threads, TextWriter o, TextWriter progress, CancellationToken cancel)
    {
        var c = CultureInfo.InvariantCulture;
        o.WriteLine();
        o.WriteLine($"perplexity bound through ONNX Runtime, test split of {data}, {(blocks == 0 ? "all" : blocks.ToString(c))} blocks, K = {samples}, same draws for every package:");
        double? fp32 = null;
        foreach (var (name, folder) in new[] { ("fp32", package), ("int8", int8) })
        {
            if (folder == null) continue;
            progress.WriteLine($"bound of the {name} package ({blocks} blocks, K = {samples}) ...");
            var r = Run(folder, data, "test", blocks, samples, threads, cancel);
            o.WriteLine(string.Create(c,
                $"  {name}: diffusion {r.Diffusion:F4} ± {r.StandardError:F4} nats/token + prior {r.Prior:F4} → perplexity ≤ {r.Perplexity:F2} ({r.Tokens:N0} tokens, {r.Seconds:F0} s)"));
            if (name == "fp32") fp32 = r.Total;
            else if (fp32 is double f)
                o.WriteLine(string.Create(c, $"  int8 − fp32: {Signed(r.Total - f, "F5")} nats/token ({Signed(100 * (Math.Exp(r.Total - f) - 1), "F3")} % on the perplexity bound)"));
        }
    }

    static string Signed(double v, string format) => (v < 0 ? "-" : "+") + Math.Abs(v).ToString(format, CultureInfo.InvariantCulture);

    /// <summary>Evaluates <paramref name="package"/> on a prepared split.</summary>
    /// <param name="package">Package folder.</param>
    /// <param name="data">Prepared data folder (same tokenizer as the package).</param>
    /// <param name="split">Split name ("test").</param>
    /// <param name="blocks">At most this many blocks (0 = all).</param>
    /// <param name="samples">K time samples per sequence.</param>
    /// <param name="threads">ONNX Runtime threads.</param>
    /// <param name="cancel">Checked before every forward pass.</param>
    public static EvalResult Run(string package, string data, string split, int blocks, int samples, int threads, CancellationToken cancel = default)
    {
        var p = ModelPackage.Open(package);
        var m = p.Manifest;
        using var dataset = TokenDataset.Open(data, DataSplits.Parse(split), cancel: cancel);
        if (dataset.VocabSize != m.Graph.Tokens)
            throw new Runtime.SeddException($"{data} has {dataset.VocabSize} token ids but {package} was trained on {m.Graph.Tokens}", Runtime.SeddException.BadInput);
        using var network = OnnxScoreNetwork.Open(p, new OnnxScoreNetworkOptions { Provider = ExecutionProvider.Cpu, Threads = threads });
        var graph = Graph.Create(m.Graph.Type, m.Graph.Tokens);
        var loss = new ScoreEntropyLoss(graph, m.CreateNoise());
        using var objective = new OnnxObjective(network, loss);
        double prior = Evaluator.PriorPerToken(m.Graph.Type, m.Graph.Tokens, m.CreateNoise().MaxTotalNoise);
        return Evaluator.Evaluate(objective, "sedd", dataset, split, m.Length, batch: 8, samples, blocks, prior, seed: 1234, CPU, cancel: cancel);
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
