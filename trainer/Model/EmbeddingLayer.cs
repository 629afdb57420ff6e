using TorchSharp.Modules;
using static TorchSharp.torch;
using static TorchSharp.torch.nn;

namespace Sedd.Trainer.Model;

/// <summary>
/// Token embedding x = E[indices] (SEDD transformer.EmbeddingLayer; spec §5.2). A bare parameter
/// named <c>embedding</c>, not nn.Embedding, so the state_dict key is <c>vocab_embed.embedding</c>.
/// </summary>
sealed class EmbeddingLayer : Module<Tensor, Tensor>
{
    readonly Parameter embedding;

    public EmbeddingLayer(long vocab, long dim) : base(nameof(EmbeddingLayer))
    {
        embedding = new Parameter(empty(vocab, dim));
        // Kaiming-uniform with a = √5 over fan-in H: uniform on ±1/√H (spec §5.9).
        init.kaiming_uniform_(embedding, a: Math.Sqrt(5));
        RegisterComponents();
    }

    /// <summary>(B, L) int64 → (B, L, H).</summary>
    public override Tensor forward(Tensor indices)
    {
        var (b, l) = (indices.shape[0], indices.shape[1]);
        return embedding.index_select(0, indices.reshape(-1)).view(b, l, -1);
    }
}
