using Sedd.Runtime;
using Sedd.Runtime.Text;
using Sedd.Trainer.Data;
using Sedd.Trainer.Model;
using Sedd.Trainer.Training;
using TorchSharp;
using static TorchSharp.torch;

namespace Sedd.Trainer.Evidence;

/// <summary>An autoregressive baseline read from a training checkpoint, EMA weights loaded, in eval mode.</summary>
/// <param name="Network">The network (caller disposes, through this record).</param>
/// <param name="EosId">EOS id: the vocabulary's last id (spec §7; <c>meta.json</c> requires it).</param>
/// <param name="Tokenizer">The tokenizer the model was trained with, e.g. <c>gpt2-4096</c>.</param>
/// <param name="Step">Training step of the checkpoint.</param>
/// <param name="Folder">The checkpoint folder.</param>
public sealed record LoadedArModel(ArTransformer Network, int EosId, TokenizerSpec Tokenizer, long Step, string Folder) : IDisposable
{
    /// <summary>Disposes the network.</summary>
    public void Dispose() => Network.Dispose();
}

/// <summary>Loads the AR baseline for sampling (<see cref="ArSampler"/>) and scoring (<see cref="GenerativePerplexity"/>).</summary>
public static class ArCheckpoint
{
    /// <summary>
    /// Reads a checkpoint (or a run folder: its latest checkpoint) trained with <c>objective: ar</c> and loads
    /// its EMA weights. The vocabulary size comes from the weights (<c>lm_head.bias</c>); the tokenizer is the
    /// one in the training data's <c>meta.json</c> when that folder is still there, else gpt2-(V−1), the only
    /// tokenizer family whose vocabulary is V (EOS = V − 1).
    /// </summary>
    /// <param name="checkpoint">Checkpoint or run folder.</param>
    /// <param name="device">Where the network runs; CPU when null.</param>
    /// <exception cref="SeddException">Not an AR checkpoint, missing tensors, or a tokenizer that disagrees with the weights (exit code 2).</exception>
    public static LoadedArModel Load(string checkpoint, Device? device = null)
    {
        ArgumentNullException.ThrowIfNull(checkpoint);
        var loaded = Checkpoint.Load(checkpoint);
        try
        {
            if (loaded.Config.Objective != "ar")
                throw new SeddException($"'{loaded.Folder}' was trained with objective '{loaded.Config.Objective}'; the AR baseline needs objective 'ar'.", SeddException.BadInput);
            if (!loaded.Ema.TryGetValue("lm_head.bias", out var bias) || bias.dim() != 1)
                throw new SeddException($"'{loaded.Folder}': {Checkpoint.EmaFile} has no 1-d 'lm_head.bias' to read the vocabulary size from.", SeddException.BadInput);
            var vocab = (int)bias.shape[0];
            var tokenizer = TrainingTokenizer(loaded.Config.Data) ?? TokenizerSpec.Parse($"gpt2-{vocab - 1}");
            if (tokenizer.VocabSize != vocab)
                throw new SeddException($"'{loaded.Folder}' has {vocab} output tokens but its training data used {tokenizer} ({tokenizer.VocabSize} tokens).", SeddException.BadInput);
            var network = new ArTransformer(loaded.Config.Model, vocab);
            try
            {
                network.LoadWeights(loaded.Ema, Path.Combine(loaded.Folder, Checkpoint.EmaFile));
                network.to(device ?? CPU);
                network.eval();
            }
            catch
            {
                network.Dispose();
                throw;
            }
            return new LoadedArModel(network, tokenizer.EosId, tokenizer, loaded.State.Step, loaded.Folder);
        }
        finally
        {
            foreach (var t in loaded.Model.Values.Concat(loaded.Ema.Values).Concat(loaded.Optimizer.Values)) t.Dispose();
        }
    }

    /// <summary>The tokenizer in <paramref name="dataFolder"/>'s meta.json, or null when the folder is gone or unreadable.</summary>
    static TokenizerSpec? TrainingTokenizer(string dataFolder)
    {
        try
        {
            return TokenizerSpec.Parse(TokenFileMeta.Load(dataFolder).Tokenizer);
        }
        catch (SeddException)
        {
            return null;
        }
    }
}
