using System.Runtime.InteropServices;
using Sedd.Runtime;
using Sedd.Runtime.IO;
using TorchSharp;
using static TorchSharp.torch;

namespace Sedd.Trainer.Training;

/// <summary>Moves tensors between TorchSharp and the framework-free safetensors representation.</summary>
public static class TensorIO
{
    /// <summary>A CPU copy of <paramref name="t"/> as a safetensors entry (F32, F64, I64 or U8).</summary>
    /// <param name="t">Any tensor.</param>
    public static SafeTensor ToSafe(Tensor t)
    {
        using var scope = NewDisposeScope();
        var c = t.detach().cpu().contiguous();
        long[] shape = c.shape;
        return c.dtype switch
        {
            ScalarType.Float32 => new("F32", shape, MemoryMarshal.AsBytes<float>(c.data<float>().ToArray()).ToArray()),
            ScalarType.Float64 => new("F64", shape, MemoryMarshal.AsBytes<double>(c.data<double>().ToArray()).ToArray()),
            ScalarType.Int64 => new("I64", shape, MemoryMarshal.AsBytes<long>(c.data<long>().ToArray()).ToArray()),
            ScalarType.Byte => new("U8", shape, c.data<byte>().ToArray()),
            ScalarType.BFloat16 or ScalarType.Float16 => ToSafe(c.to(ScalarType.Float32)),
            _ => throw new SeddException($"cannot store a tensor of type {c.dtype}", SeddException.BadInput),
        };
    }

    /// <summary>A new CPU tensor holding <paramref name="s"/>'s values (F16/BF16 widened to F32).</summary>
    /// <param name="s">A safetensors entry.</param>
    public static Tensor FromSafe(SafeTensor s) => s.DType switch
    {
        "F32" or "F16" or "BF16" => tensor(s.ToFloats(), s.Shape, ScalarType.Float32),
        "F64" => tensor(MemoryMarshal.Cast<byte, double>(s.Data).ToArray(), s.Shape, ScalarType.Float64),
        "I64" => tensor(MemoryMarshal.Cast<byte, long>(s.Data).ToArray(), s.Shape, ScalarType.Int64),
        "U8" => tensor(s.Data, s.Shape, ScalarType.Byte),
        _ => throw new SeddException($"cannot load a tensor of dtype {s.DType}", SeddException.BadInput),
    };

    /// <summary>Writes named tensors to a safetensors file atomically.</summary>
    /// <param name="path">Destination.</param>
    /// <param name="tensors">Named tensors.</param>
    /// <param name="metadata">Optional string metadata.</param>
    public static void Save(string path, IEnumerable<(string Name, Tensor Value)> tensors, IReadOnlyDictionary<string, string>? metadata = null) =>
        Safetensors.Write(path, tensors.ToDictionary(t => t.Name, t => ToSafe(t.Value), StringComparer.Ordinal), metadata);

    /// <summary>Reads every tensor of a safetensors file as CPU tensors.</summary>
    /// <param name="path">Source.</param>
    public static Dictionary<string, Tensor> Load(string path)
    {
        var (tensors, _) = Safetensors.Read(path);
        return tensors.ToDictionary(p => p.Key, p => FromSafe(p.Value), StringComparer.Ordinal);
    }
}
