using Sedd.Runtime;
using Sedd.Trainer.Model;
using static TorchSharp.torch;

namespace Sedd.Trainer.Evidence;

/// <summary>
/// Per-layer key/value cache for incremental decoding with <see cref="ArTransformer.ForwardIncremental"/>:
/// for every block, the rotated keys and the values of all positions fed so far, stored in preallocated
/// tensors (B, heads, capacity, head dim) so a new position costs one row of compute and no reallocation.
/// Keys are stored after rotary (each at its own absolute position), so they never need re-rotating.
/// </summary>
public sealed class ArKvCache : IDisposable
{
    readonly Tensor[] keys;
    readonly Tensor[] values;

    /// <summary>Allocates an empty cache for <paramref name="model"/> in its parameters' dtype and device.</summary>
    /// <param name="model">The network the cache is used with.</param>
    /// <param name="batch">Sequences decoded together (B).</param>
    /// <param name="capacity">Most positions that will be fed, at most the model's length.</param>
    /// <exception cref="SeddException">Capacity outside 1 .. model length (exit code 1).</exception>
    public ArKvCache(ArTransformer model, long batch, int capacity)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentOutOfRangeException.ThrowIfLessThan(batch, 1);
        if (capacity < 1 || capacity > model.Config.Length)
            throw new SeddException($"KV cache capacity must be 1..{model.Config.Length} (model.length); found {capacity}.", SeddException.Usage);
        var reference = model.parameters().First();
        var config = model.Config;
        Batch = batch;
        Capacity = capacity;
        keys = new Tensor[config.NBlocks];
        values = new Tensor[config.NBlocks];
        long[] shape = [batch, config.NHeads, capacity, config.HeadDim];
        for (var i = 0; i < keys.Length; i++)
        {
            // Outlive the callers' per-step dispose scopes: the cache owns these until Dispose.
            keys[i] = zeros(shape, reference.dtype, reference.device).DetachFromDisposeScope();
            values[i] = zeros(shape, reference.dtype, reference.device).DetachFromDisposeScope();
        }
    }

    /// <summary>Sequences in the batch (B).</summary>
    public long Batch { get; }

    /// <summary>Positions the cache can hold.</summary>
    public int Capacity { get; }

    /// <summary>Positions already fed (the absolute position of the next token).</summary>
    public int Length { get; private set; }

    /// <summary>Forgets every position (the tensors are kept for reuse).</summary>
    public void Reset() => Length = 0;

    /// <summary>
    /// Writes the new positions' keys and values of block <paramref name="layer"/> after the cached ones and
    /// returns views over everything cached so far, new positions included: (B, heads, Length + S, hd).
    /// </summary>
    internal (Tensor Keys, Tensor Values) Append(int layer, Tensor k, Tensor v)
    {
        var s = k.shape[2];
        keys[layer].narrow(2, Length, s).copy_(k);
        values[layer].narrow(2, Length, s).copy_(v);
        return (keys[layer].narrow(2, 0, Length + s), values[layer].narrow(2, 0, Length + s));
    }

    /// <summary>Marks <paramref name="count"/> more positions as filled, after every block has appended them.</summary>
    internal void Advance(int count) => Length += count;

    /// <summary>Frees the cached tensors.</summary>
    public void Dispose()
    {
        foreach (var t in keys) t.Dispose();
        foreach (var t in values) t.Dispose();
    }
}
