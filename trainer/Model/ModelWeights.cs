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
        var targets = module.state_dict();
        foreach (var name in weights.Keys)
            if (!targets.ContainsKey(name)) ModelThrow.UnexpectedTensor(source, name);
        using var noGrad = no_grad();
        foreach (var (name, target) in targets)
        {
            if (!weights.TryGetValue(name, out var value)) ModelThrow.MissingTensor(source, name);
            if (!target.shape.SequenceEqual(value.shape)) ModelThrow.ShapeMismatch(source, name, target.shape, value.shape);
            target.copy_(value);
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
