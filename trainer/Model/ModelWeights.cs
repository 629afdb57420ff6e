using TorchSharp;
using static TorchSharp.torch;

namespace Sedd.Trainer.Model;

/// <summary>
/// Loads tensors into a module by their PyTorch state_dict names (spec §5.8), for checkpoints, the
/// exporter and the golden tests. Strict: every parameter and persistent buffer must be present with
/// its exact shape, and no extra name is accepted, so a checkpoint of another architecture fails with
/// a message naming the tensor instead of a libtorch error.
/// </summary>
static class ModelWeights
{
    /// <summary>Copies <paramref name="weights"/> into <paramref name="module"/> (values are cast to the module's dtype).</summary>
    /// <param name="module">Target module; its parameters keep their identity (copied in place).</param>
    /// <param name="weights">Tensors by state_dict name.</param>
    /// <param name="source">Where the tensors come from, for messages (e.g. a file name).</param>
    public static void Load(nn.Module module, IReadOnlyDictionary<string, Tensor> weights, string source)
    {
        ArgumentNullException.ThrowIfNull(weights);
        Load(module, [.. weights.Keys], name => weights.TryGetValue(name, out var value) ? value : null, ownsTensors: false, source);
    }

    /// <summary>
    /// Loads weights one tensor at a time: <paramref name="open"/> makes the named tensor (null when the
    /// source lacks it), and with <paramref name="ownsTensors"/> each is disposed as soon as it is copied,
    /// so a large network never holds a second full copy of its weights.
    /// </summary>
    /// <param name="module">Network whose state dict receives the weights.</param>
    /// <param name="names">Every tensor name the source has.</param>
    /// <param name="open">The tensor of a name, or null.</param>
    /// <param name="ownsTensors">Dispose each opened tensor after copying it.</param>
    /// <param name="source">How messages name the source.</param>
    public static void Load(nn.Module module, IReadOnlyCollection<string> names, Func<string, Tensor?> open, bool ownsTensors, string source)
    {
        ArgumentNullException.ThrowIfNull(names);
        ArgumentNullException.ThrowIfNull(open);
        var targets = module.state_dict();
        foreach (var name in names)
            if (!targets.ContainsKey(name)) ModelThrow.UnexpectedTensor(source, name);
        using var noGrad = no_grad();
        foreach (var (name, target) in targets)
        {
            var value = open(name);
            if (value is null) ModelThrow.MissingTensor(source, name);
            try
            {
                if (!target.shape.SequenceEqual(value.shape)) ModelThrow.ShapeMismatch(source, name, target.shape, value.shape);
                target.copy_(value);
            }
            finally
            {
                if (ownsTensors) value.Dispose();
            }
        }
    }

    /// <summary>Number of trainable scalars (buffers excluded), as the paper counts them (spec §5.11).</summary>
    public static long ParameterCount(nn.Module module)
    {
        long n = 0;
        foreach (var p in module.parameters()) n += p.numel();
        return n;
    }
}
