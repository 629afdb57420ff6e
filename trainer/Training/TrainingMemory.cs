using Sedd.Runtime;

namespace Sedd.Trainer.Training;

/// <summary>
/// Memory estimates made from a config before any tensor exists, so that a model or batch that cannot
/// fit is refused in one line (how much it needs, how much there is) instead of ending in the kernel's
/// out-of-memory killer or a native allocation failure. The estimates count only what certainly exists
/// (float32 weights and their copies, the activations a step keeps), so they stay below the real peak
/// and never refuse a run that would fit; libtorch's own overhead comes on top.
/// </summary>
public static class TrainingMemory
{
    const long Float = 4;

    /// <summary>Parameters of the network <paramref name="config"/> builds over <paramref name="realTokens"/> ids.</summary>
    /// <param name="config">Resolved config.</param>
    /// <param name="realTokens">Real vocabulary size V (EOS included).</param>
    public static long Parameters(TrainConfig config, int realTokens)
    {
        ArgumentNullException.ThrowIfNull(config);
        var m = config.Model;
        long h = m.HiddenSize, c = m.CondDim, states = States(config, realTokens);
        // Per block: attention (3H² + H²) and MLP (8H²); SEDD adds the adaLN modulation (6HC).
        long perBlock = MemoryBudget.Product(12, h, h) + (config.Objective == "sedd" ? MemoryBudget.Product(6, h, c) : 0);
        long blocks = MemoryBudget.Product(m.NBlocks, perBlock);
        // Embedding and output layer (D×H each); SEDD's σ embedding (256C + C²) and final adaLN (2HC).
        long ends = MemoryBudget.Product(2, states, h) + (config.Objective == "sedd" ? MemoryBudget.Product(256 + c, c) + MemoryBudget.Product(2, h, c) : 0);
        return Sum(blocks, ends);
    }

    /// <summary>
    /// Bytes a training step needs at least: the weights with their gradients, AdamW's two moments and the
    /// EMA (five float32 copies), and the activations of one micro-batch kept for the backward pass.
    /// </summary>
    /// <param name="config">Resolved config.</param>
    /// <param name="realTokens">Real vocabulary size V.</param>
    public static long Training(TrainConfig config, int realTokens)
    {
        ArgumentNullException.ThrowIfNull(config);
        long micro = config.Training.BatchSize / Math.Max(1, config.Training.Accum);
        long activations = Activations(config, realTokens, micro, keptForBackward: true);
        if (config.Training.Precision == "bf16") activations = activations / 5 * 3; // bf16 matmul outputs take half
        return Sum(MemoryBudget.Product(5 * Float, Parameters(config, realTokens)), activations);
    }

    /// <summary>Bytes a forward pass without gradients (evaluation) needs at least for <paramref name="batch"/> sequences.</summary>
    /// <param name="config">Resolved config.</param>
    /// <param name="realTokens">Real vocabulary size V.</param>
    /// <param name="batch">Sequences per forward pass.</param>
    public static long Forward(TrainConfig config, int realTokens, long batch) =>
        Sum(MemoryBudget.Product(Float, Parameters(config, realTokens)), Activations(config, realTokens, batch, keptForBackward: false));

    /// <summary>Refuses (exit 1: the settings asked for it) a training run that cannot fit in memory.</summary>
    /// <param name="config">Resolved config.</param>
    /// <param name="realTokens">Real vocabulary size V.</param>
    public static void RequireTraining(TrainConfig config, int realTokens)
    {
        ArgumentNullException.ThrowIfNull(config);
        var t = config.Training;
        MemoryBudget.Require(Training(config, realTokens),
            $"training a {Parameters(config, realTokens):N0}-parameter model on micro-batches of {t.BatchSize / t.Accum} × {config.Model.Length} tokens",
            "lower training.batch_size (or raise training.accum: same result, less memory), model.length or the model's size");
    }

    // The states the network reads and scores: V + 1 with the absorbing mask, V otherwise.
    static long States(TrainConfig config, int realTokens) =>
        config.Objective == "sedd" && config.Graph.Type == "absorb" ? realTokens + 1L : realTokens;

    static long Activations(TrainConfig config, int realTokens, long batch, bool keptForBackward)
    {
        var m = config.Model;
        long tokens = MemoryBudget.Product(batch, m.Length);
        // Output: log-scores over D states per token and the loss terms built from them (3 copies).
        long output = MemoryBudget.Product(3 * Float, tokens, States(config, realTokens));
        // Attention probabilities B·heads·L², and per block the B·L·H activations a step keeps
        // (about 16 per token and width in training: qkv, attention, MLP 4H in and out, norms, residual).
        long attention = MemoryBudget.Product(Float, batch, m.NHeads, m.Length, m.Length);
        long perBlock = Sum(MemoryBudget.Product(keptForBackward ? 16 * Float : 8 * Float, tokens, m.HiddenSize), attention);
        long blocks = keptForBackward ? MemoryBudget.Product(m.NBlocks, perBlock) : perBlock; // without gradients one block's at a time
        return Sum(output, blocks);
    }

    static long Sum(long a, long b) => a > long.MaxValue - b ? long.MaxValue : a + b;
}
