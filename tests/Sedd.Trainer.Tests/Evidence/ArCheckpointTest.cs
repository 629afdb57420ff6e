using Sedd.Runtime;
using Sedd.Trainer.Data;
using Sedd.Trainer.Evidence;
using Sedd.Trainer.Tests.Cli;
using Sedd.Trainer.Tests.Data;
using Sedd.Trainer.Training;

namespace Sedd.Trainer.Tests.Evidence;

/// <summary>A trained AR checkpoint end to end: load, sample, score; agreement with <c>sedd-train eval</c>.</summary>
[Collection(TorchGlobalState.Name)]
public class ArCheckpointTest
{
    /// <summary>
    /// Trains a tiny AR model on the repetitive corpus, loads it, and checks that generative perplexity of the
    /// test blocks equals the perplexity <see cref="EvalRunner"/> reports, and that its own samples score far
    /// below the uniform perplexity V (the model has learnt the corpus and samples from it).
    /// </summary>
    [Fact]
    public void ArCheckpointTest_LoadSampleAndScore()
    {
        using var t = new TempFolder();
        var data = TinyTraining.PrepareCorpus(t);
        var run = t.Combine("run");
        TinyTraining.NewTrainer().Run(TinyTraining.Config(data, run, 60, "objective=ar"), resume: false, CancellationToken.None);

        using var model = ArCheckpoint.Load(run);
        Assert.Equal(60, model.Step);
        Assert.Equal(TinyTraining.Tokenizer, model.Tokenizer.ToString());
        Assert.Equal(512, model.EosId);
        Assert.False(model.Network.training);

        var eval = EvalRunner.Run(run, "test", samples: 1, maxBlocks: 0, batch: 4, data: null, seed: 1, threads: 1, TextWriter.Null);
        using var test = TokenDataset.Open(data, DataSplit.Test);
        var l = model.Network.Config.Length;
        var blocks = new List<long[]>();
        for (var i = 0; i < test.BlockCount(l); i++)
        {
            var block = new long[l];
            test.ReadBlock(i, l, block);
            blocks.Add(block);
        }
        var scored = GenerativePerplexity.Score(model.Network, blocks, model.EosId);
        Assert.Equal(eval.Tokens, scored.Tokens);
        Assert.True(Math.Abs(scored.Perplexity / eval.Perplexity - 1) < 1e-4, $"generative perplexity {scored.Perplexity} vs eval {eval.Perplexity}");

        // Zero-shot data must use the checkpoint's tokenizer: eval refuses data prepared with another one.
        new PrepareCommand(TextWriter.Null).Run(new PrepareOptions { Corpus = t.Combine("corpus"), Output = t.Combine("other"), Tokenizer = "gpt2-1024", CacheDir = t.Combine("cache") });
        var mismatch = Assert.Throws<SeddException>(() => EvalRunner.Run(run, "test", 1, 0, 4, t.Combine("other"), 1, 1, TextWriter.Null));
        Assert.Contains("vocab_embed.embedding", mismatch.Message, StringComparison.Ordinal);

        var samples = new ArSampler(model.Network, model.EosId).Sample(8, l, seed: 3, batchSize: 4);
        var own = GenerativePerplexity.Score(model.Network, samples.Samples, model.EosId);
        Assert.True(own.Perplexity < 50, $"samples of a model fit to a two-sentence corpus score {own.Perplexity} under it (uniform: 513)");
        Assert.InRange(GenerativePerplexity.MeanSampleEntropy(samples.Samples), 0.5, Math.Log(l));
    }

    /// <summary>A SEDD checkpoint is refused with a one-line message.</summary>
    [Fact]
    public void ArCheckpointTest_RefusesSeddCheckpoint()
    {
        using var t = new TempFolder();
        var data = TinyTraining.PrepareCorpus(t);
        var run = t.Combine("run");
        TinyTraining.NewTrainer().Run(TinyTraining.Config(data, run, 2), resume: false, CancellationToken.None);
        var e = Assert.Throws<SeddException>(() => ArCheckpoint.Load(run));
        Assert.Contains("objective 'ar'", e.Message, StringComparison.Ordinal);
    }
}
