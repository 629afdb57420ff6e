using TorchSharp;
using static TorchSharp.torch;

namespace Sedd.Trainer.Training;

/// <summary>
/// What is being trained: the SEDD score network with the score-entropy loss, or the same-size
/// autoregressive baseline with cross-entropy. The loop, data, optimiser, checkpoints and
/// evaluation are shared; only this differs.
/// </summary>
public interface IObjective : IDisposable
{
    /// <summary>The network (its named parameters are optimised and checkpointed).</summary>
    nn.Module Network { get; }

    /// <summary>
    /// Per-sequence losses [B] for clean blocks <paramref name="x0"/> [B,L]: SEDD's σ'·Σ_l score
    /// entropy (spec §4.1), or the AR model's summed next-token NLL. Both upper-bound (SEDD) or
    /// equal (AR) the sequence's negative log-likelihood in nats, so /L gives nats per token.
    /// </summary>
    /// <param name="x0">Clean token blocks, int64 on the training device.</param>
    /// <param name="generator">Explicit random stream for t and x_t (unused by AR).</param>
    Tensor SequenceLoss(Tensor x0, Generator generator);

    /// <summary>
    /// <see cref="SequenceLoss"/> as the training step draws it: SEDD with <c>training.time_sampling</c>
    /// (stratified t across the micro-batch when configured). Validation and evaluation keep
    /// <see cref="SequenceLoss"/>'s i.i.d. draws, so their figures (and the standard error of the bound,
    /// which assumes independent sequences) do not depend on the training recipe.
    /// </summary>
    /// <param name="x0">Clean token blocks, int64 on the training device.</param>
    /// <param name="generator">Explicit random stream for t and x_t.</param>
    Tensor TrainingLoss(Tensor x0, Generator generator) => SequenceLoss(x0, generator);
}
