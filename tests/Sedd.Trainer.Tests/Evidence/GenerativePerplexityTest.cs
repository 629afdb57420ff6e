using Sedd.Runtime;
using Sedd.Trainer.Data;
using Sedd.Trainer.Evidence;
using Sedd.Trainer.Model;
using Sedd.Trainer.Tests.Data;
using Sedd.Trainer.Training;
using static TorchSharp.torch;

namespace Sedd.Trainer.Tests.Evidence;

/// <summary>Generative perplexity under the AR baseline, and the unigram entropies reported beside it.</summary>
public class GenerativePerplexityTest
{
    static readonly ModelConfig Tiny = new() { HiddenSize = 32, NHeads = 4, CondDim = 16, NBlocks = 2, Length = 16 };

    /// <summary>
    /// On blocks of a prepared corpus (training-like data), perplexity = exp(AR objective's loss per token)
    /// on the same tokens, and the per-sample values are the objective's per-sequence losses / L.
    /// </summary>
    [Fact]
    public void GenerativePerplexityTest_EqualsExpOfObjectiveLoss()
    {
        using var t = new TempFolder();
        PrepareCommandTest.WriteTextCorpus(t);
        new PrepareCommand(new StringWriter()).Run(new PrepareOptions { Corpus = t.Combine("corpus"), Output = t.Combine("out"), Tokenizer = "gpt2-512", CacheDir = t.Combine("cache") });
        using var data = TokenDataset.Open(t.Combine("out"), DataSplit.Train);
        var l = Tiny.Length;
        var blocks = new List<long[]>();
        for (var i = 0; i < data.BlockCount(l); i++)
        {
            var block = new long[l];
            data.ReadBlock(i, l, block);
            blocks.Add(block);
        }
        Assert.True(blocks.Count >= 3, $"only {blocks.Count} blocks");

        manual_seed(11);
        using var network = new ArTransformer(Tiny, data.VocabSize);
        network.eval();
        double[] objectiveLoss;
        using (var scope = NewDisposeScope())
        using (no_grad())
        {
            var objective = new ArObjective(network, data.EosId);
            var x0 = tensor(blocks.SelectMany(b => b).ToArray(), [blocks.Count, l]);
            objectiveLoss = objective.SequenceLoss(x0, new TorchSharp.torch.Generator(1)).to_type(ScalarType.Float64).data<double>().ToArray();
        }
        var result = GenerativePerplexity.Score(network, blocks, data.EosId, batchSize: 2);
        var expected = Math.Exp(objectiveLoss.Sum() / (blocks.Count * l));
        Assert.Equal(blocks.Count * (long)l, result.Tokens);
        Assert.True(Math.Abs(result.Perplexity / expected - 1) < 1e-5, $"perplexity {result.Perplexity} vs exp(objective loss) {expected}");
        for (var i = 0; i < blocks.Count; i++)
            Assert.True(Math.Abs(result.SequenceNll[i] - objectiveLoss[i] / l) < 1e-5, $"sample {i}: {result.SequenceNll[i]} vs {objectiveLoss[i] / l}");
        Assert.True(result.MeanSequencePerplexity >= result.Perplexity * (1 - 1e-12)); // Jensen, equal lengths
    }

    /// <summary>Samples of different lengths in any batch size get the values they get when scored one by one (float32 forward: 1e-5).</summary>
    [Fact]
    public void GenerativePerplexityTest_BatchingDoesNotChangeScores()
    {
        const int v = 30;
        manual_seed(12);
        using var network = new ArTransformer(Tiny, v);
        var rng = new Random(3);
        var samples = Enumerable.Range(0, 7).Select(i => Enumerable.Range(0, i % 2 == 0 ? 16 : 9).Select(_ => (long)rng.Next(v)).ToArray()).ToList();
        var together = GenerativePerplexity.Score(network, samples, v - 1, batchSize: 3);
        double nll = 0;
        for (var i = 0; i < samples.Count; i++)
        {
            var alone = GenerativePerplexity.Score(network, [samples[i]], v - 1);
            Assert.True(Math.Abs(alone.SequenceNll[0] - together.SequenceNll[i]) < 1e-5, $"sample {i}: {alone.SequenceNll[0]} alone vs {together.SequenceNll[i]} batched");
            nll += alone.SequenceNll[0] * samples[i].Length;
        }
        Assert.Equal(4 * 16 + 3 * 9, together.Tokens);
        Assert.Equal(nll / together.Tokens, together.MeanNll, 5);
        Assert.True(network.training); // the caller's mode is restored
    }

    /// <summary>A constant sequence has entropy 0; k distinct tokens in equal numbers have ln k; pooled and per-sample differ as documented.</summary>
    [Fact]
    public void GenerativePerplexityTest_UnigramEntropy()
    {
        Assert.Equal(0, GenerativePerplexity.UnigramEntropy([[7, 7, 7, 7, 7]]));
        Assert.Equal(0, GenerativePerplexity.MeanSampleEntropy([[7, 7, 7, 7, 7]]));
        foreach (var k in new[] { 2, 5, 64 })
        {
            var uniform = Enumerable.Range(0, 3 * k).Select(i => (long)(i % k)).ToArray();
            Assert.Equal(Math.Log(k), GenerativePerplexity.UnigramEntropy([uniform]), 12);
            Assert.Equal(Math.Log(k), GenerativePerplexity.MeanSampleEntropy([uniform]), 12);
        }
        // Each sample repeats one token, the set holds two: pooled ln 2, per sample 0.
        long[][] repetitive = [[1, 1, 1, 1], [2, 2, 2, 2]];
        Assert.Equal(Math.Log(2), GenerativePerplexity.UnigramEntropy(repetitive), 12);
        Assert.Equal(0, GenerativePerplexity.MeanSampleEntropy(repetitive));
        // Unequal counts: 3 of one, 1 of another.
        Assert.Equal(-(0.75 * Math.Log(0.75) + 0.25 * Math.Log(0.25)), GenerativePerplexity.UnigramEntropy([[4, 4, 9, 4]]), 12);
    }

    /// <summary>Out-of-vocabulary ids (e.g. a leftover mask), over-long samples and empty sets are user errors.</summary>
    [Fact]
    public void GenerativePerplexityTest_Errors()
    {
        const int v = 30;
        using var network = new ArTransformer(Tiny, v);
        var e = Assert.Throws<SeddException>(() => GenerativePerplexity.Score(network, [[1, 2, v]], v - 1));
        Assert.Contains($"token id {v}", e.Message, StringComparison.Ordinal);
        Assert.Throws<SeddException>(() => GenerativePerplexity.Score(network, [new long[Tiny.Length + 1]], v - 1));
        Assert.Throws<SeddException>(() => GenerativePerplexity.Score(network, [], v - 1));
        Assert.Throws<SeddException>(() => GenerativePerplexity.Score(network, [[]], v - 1));
    }
}
