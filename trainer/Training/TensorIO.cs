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

    /// <summary>Largest safetensors file read (far above any model this trainer can train on one machine).</summary>
    public const long MaxFileBytes = 64L << 30;

    /// <summary>Reads every tensor of a safetensors file as CPU tensors.</summary>
    /// <param name="path">Source.</param>
    /// <param name="what">How messages name the file, e.g. "checkpoint file".</param>
    /// <exception cref="SeddException">Not a regular file, too large for memory, or not valid safetensors (exit 2).</exception>
    public static Dictionary<string, Tensor> Load(string path, string what = "checkpoint file") =>
        ReadSafe(path, what).ToDictionary(p => p.Key, p => FromSafe(p.Value), StringComparer.Ordinal);

    /// <summary>
    /// Reads a safetensors file with the checks every user file gets: only a regular file (a FIFO would
    /// block), its size against the memory it needs (the bytes, the parsed copy and the tensors), and a
    /// malformed header reported as bad input in one line.
    /// </summary>
    /// <param name="path">Source.</param>
    /// <param name="what">How messages name the file.</param>
    public static Dictionary<string, SafeTensor> ReadSafe(string path, string what)
    {
        UserFiles.RequireRegularFile(path, what);
        long size = new FileInfo(path).Length;
        MemoryBudget.Require(MemoryBudget.Product(size, 3), $"reading {what} {path}", "use a machine with more memory", SeddException.BadInput);
        var bytes = UserFiles.ReadAllBytes(path, what, MaxFileBytes);
        try { return Safetensors.Parse(bytes, $"{what} {path}").Tensors; }
        catch (Exception e) when (e is InvalidOperationException or FormatException or OverflowException or ArgumentException
                                      or NullReferenceException or KeyNotFoundException or IndexOutOfRangeException or System.Text.Json.JsonException)
        {
            // The header is JSON from the file: any shape it may take is the file's fault, never a crash.
            throw new SeddException($"{what} {path} is not a valid safetensors file ({e.GetType().Name}: {e.Message})", SeddException.BadInput);
        }
    }
}
