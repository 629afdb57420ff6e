using System.Buffers.Binary;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace Sedd.Runtime.IO;

/// <summary>One tensor of a safetensors file: dtype ("F32", "F16", "BF16", "I64", ...), shape and raw little-endian bytes.</summary>
/// <param name="DType">safetensors dtype string.</param>
/// <param name="Shape">Dimensions, row-major.</param>
/// <param name="Data">Raw little-endian bytes.</param>
public sealed record SafeTensor(string DType, long[] Shape, byte[] Data)
{
    /// <summary>Number of elements.</summary>
    public long ElementCount => Shape.Aggregate(1L, (a, d) => a * d);

    /// <summary>A float32 tensor over a copy of <paramref name="values"/>.</summary>
    /// <param name="values">Values, row-major.</param>
    /// <param name="shape">Dimensions.</param>
    public static SafeTensor FromFloats(ReadOnlySpan<float> values, params long[] shape) =>
        new("F32", shape, System.Runtime.InteropServices.MemoryMarshal.AsBytes(values).ToArray());

    /// <summary>The values as float32 (F32, F16 and BF16 are converted).</summary>
    public float[] ToFloats() => DType switch
    {
        "F32" => System.Runtime.InteropServices.MemoryMarshal.Cast<byte, float>(Data).ToArray(),
        "F16" => System.Runtime.InteropServices.MemoryMarshal.Cast<byte, Half>(Data).ToArray().Select(h => (float)h).ToArray(),
        "BF16" => System.Runtime.InteropServices.MemoryMarshal.Cast<byte, ushort>(Data).ToArray().Select(b => BitConverter.Int32BitsToSingle(b << 16)).ToArray(),
        "F64" => System.Runtime.InteropServices.MemoryMarshal.Cast<byte, double>(Data).ToArray().Select(d => (float)d).ToArray(),
        _ => throw new SeddException($"tensor of dtype {DType} cannot be read as floats", SeddException.BadInput),
    };
}

/// <summary>
/// Reads and writes the safetensors format without any tensor framework: an 8-byte little-endian
/// header length N, N bytes of JSON (name → dtype, shape, data_offsets; optional __metadata__),
/// then the raw tensor bytes. Written the way the reference serializer does it: names sorted,
/// compact JSON padded with spaces to a multiple of 8, tensors tiling the data area in name order.
/// </summary>
public static class Safetensors
{
    static readonly Dictionary<string, int> ElementSize = new()
    {
        ["F64"] = 8, ["F32"] = 4, ["F16"] = 2, ["BF16"] = 2, ["I64"] = 8, ["I32"] = 4, ["I16"] = 2, ["I8"] = 1, ["U8"] = 1, ["BOOL"] = 1,
    };

    /// <summary>Reads every tensor and the optional metadata of a file.</summary>
    /// <param name="path">The .safetensors file.</param>
    public static (Dictionary<string, SafeTensor> Tensors, Dictionary<string, string> Metadata) Read(string path)
    {
        byte[] bytes;
        try { bytes = File.ReadAllBytes(path); }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        { throw new SeddException($"cannot read {path}: {e.Message}", SeddException.BadInput); }
        return Parse(bytes, path);
    }

    /// <summary>Parses a safetensors image held in memory.</summary>
    /// <param name="bytes">The whole file.</param>
    /// <param name="what">Name used in error messages.</param>
    public static (Dictionary<string, SafeTensor> Tensors, Dictionary<string, string> Metadata) Parse(byte[] bytes, string what)
    {
        if (bytes.Length < 8) throw Bad(what, "shorter than the 8-byte header length");
        ulong n = BinaryPrimitives.ReadUInt64LittleEndian(bytes);
        if (n > (ulong)(bytes.Length - 8)) throw Bad(what, $"header length {n} exceeds the file size {bytes.Length}");
        JsonObject header;
        try { header = JsonNode.Parse(Encoding.UTF8.GetString(bytes, 8, (int)n))!.AsObject(); }
        catch (Exception e) when (e is JsonException or InvalidOperationException) { throw Bad(what, "header is not a JSON object"); }
        long dataStart = 8 + (long)n, dataLength = bytes.Length - dataStart;
        var tensors = new Dictionary<string, SafeTensor>(StringComparer.Ordinal);
        var metadata = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var (name, node) in header)
        {
            if (name == "__metadata__")
            {
                foreach (var (k, v) in node!.AsObject()) metadata[k] = v?.ToString() ?? "";
                continue;
            }
            var dtype = (string?)node?["dtype"] ?? throw Bad(what, $"tensor {name} has no dtype");
            if (!ElementSize.TryGetValue(dtype, out int size)) throw Bad(what, $"tensor {name} has unsupported dtype {dtype}");
            var shape = node!["shape"]!.AsArray().Select(d => d!.GetValue<long>()).ToArray();
            var offsets = node["data_offsets"]!.AsArray().Select(d => d!.GetValue<long>()).ToArray();
            long count = shape.Aggregate(1L, (a, d) => a * d);
            if (offsets.Length != 2 || offsets[0] < 0 || offsets[1] < offsets[0] || offsets[1] > dataLength)
                throw Bad(what, $"tensor {name} lies outside the file (truncated?)");
            if (offsets[1] - offsets[0] != count * size)
                throw Bad(what, $"tensor {name} has {offsets[1] - offsets[0]} bytes, its shape needs {count * size}");
            tensors[name] = new SafeTensor(dtype, shape, bytes.AsSpan((int)(dataStart + offsets[0]), (int)(offsets[1] - offsets[0])).ToArray());
        }
        return (tensors, metadata);
    }

    /// <summary>Serialises tensors (sorted by name) and optional metadata to a safetensors image.</summary>
    /// <param name="tensors">Name → tensor.</param>
    /// <param name="metadata">Optional string metadata (__metadata__).</param>
    public static byte[] Serialize(IReadOnlyDictionary<string, SafeTensor> tensors, IReadOnlyDictionary<string, string>? metadata = null)
    {
        var names = tensors.Keys.Order(StringComparer.Ordinal).ToArray();
        var header = new JsonObject();
        if (metadata is { Count: > 0 })
        {
            var m = new JsonObject();
            foreach (var (k, v) in metadata.OrderBy(p => p.Key, StringComparer.Ordinal)) m[k] = v;
            header["__metadata__"] = m;
        }
        long offset = 0;
        foreach (var name in names)
        {
            var t = tensors[name];
            header[name] = new JsonObject
            {
                ["dtype"] = t.DType,
                ["shape"] = new JsonArray(t.Shape.Select(d => (JsonNode)d).ToArray()),
                ["data_offsets"] = new JsonArray(offset, offset + t.Data.Length),
            };
            offset += t.Data.Length;
        }
        var json = Encoding.UTF8.GetBytes(header.ToJsonString());
        int padded = (json.Length + 7) / 8 * 8;
        var result = new byte[8 + padded + offset];
        BinaryPrimitives.WriteUInt64LittleEndian(result, (ulong)padded);
        json.CopyTo(result, 8);
        result.AsSpan(8 + json.Length, padded - json.Length).Fill((byte)' ');
        long at = 8 + padded;
        foreach (var name in names)
        {
            tensors[name].Data.CopyTo(result, at);
            at += tensors[name].Data.Length;
        }
        return result;
    }

    /// <summary>Writes a safetensors file atomically (temporary file, then rename).</summary>
    /// <param name="path">Destination.</param>
    /// <param name="tensors">Name → tensor.</param>
    /// <param name="metadata">Optional metadata.</param>
    public static void Write(string path, IReadOnlyDictionary<string, SafeTensor> tensors, IReadOnlyDictionary<string, string>? metadata = null) =>
        AtomicFile.WriteAllBytes(path, Serialize(tensors, metadata));

    static SeddException Bad(string what, string why) => new($"{what} is not a valid safetensors file: {why}", SeddException.BadInput);
}
