using Sedd.Runtime.Package;

namespace Sedd.Runtime.Onnx;

/// <summary>
/// Floating-point operations of one score-network forward, from the manifest's dimensions (spec §5),
/// counting a multiply-add as 2 FLOPs and ignoring element-wise work (norms, GELU, softmax, rotary):
/// <code>
/// per token:    n_blocks · (2·(3H² + H² + 2·H·M) + 4·L·H)  +  2·H·D
///               (qkv, attention out, MLP H→M→H; QKᵀ and A·V over L keys; output layer)
/// per sequence: 2·(F·C + C²) + n_blocks · 2·C·6H + 2·C·2H
///               (σ̄ embedding MLP with F = 256, each block's adaLN, the final adaLN)
/// </code>
/// with M = 4H (spec §5.5). B·L·per-token + B·per-sequence is the total.
/// </summary>
public static class ForwardCost
{
    /// <summary>FLOPs of one forward of <paramref name="batch"/> sequences of <paramref name="length"/> tokens.</summary>
    /// <param name="manifest">Package manifest (hidden size, blocks, cond_dim, states).</param>
    /// <param name="batch">B.</param>
    /// <param name="length">L.</param>
    public static double Flops(ModelManifest manifest, int batch, int length)
    {
        ArgumentNullException.ThrowIfNull(manifest);
        double h = manifest.Model.HiddenSize, c = manifest.Model.CondDim, blocks = manifest.Model.NBlocks;
        double d = manifest.Graph.States, m = 4 * h, f = 256, l = length;
        double perToken = blocks * (2 * (4 * h * h + 2 * h * m) + 4 * l * h) + 2 * h * d;
        double perSequence = 2 * (f * c + c * c) + blocks * 2 * c * 6 * h + 2 * c * 2 * h;
        return batch * (l * perToken + perSequence);
    }
}
