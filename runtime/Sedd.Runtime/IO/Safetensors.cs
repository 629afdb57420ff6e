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
/// <remarks>
/// Reading trusts nothing in the file: the header is bounded (<see cref="MaxHeaderBytes"/>, as the
/// reference reader), must be strict JSON without duplicate names, every shape and offset is checked
/// for overflow and against the file's real size before anything is allocated, tensors may not
/// overlap, and the memory they need is estimated first. Every failure is a bad-input
/// <see cref="SeddException"/>; reading only opens regular files and watches a cancellation token.
/// </remarks>
public static class Safetensors
{
    /// <summary>Largest header accepted (the reference implementation's limit).</summary>
    public const long MaxHeaderBytes = 100_000_000;

    const int Chunk = 1 << 20;

    static readonly Dictionary<string, int> ElementSize = new(StringComparer.Ordinal)
    {
        ["F64"] = 8, ["F32"] = 4, ["F16"] = 2, ["BF16"] = 2, ["I64"] = 8, ["I32"] = 4, ["I16"] = 2, ["I8"] = 1, ["U8"] = 1, ["BOOL"] = 1,
    };

    /// <summary>One tensor as the header describes it: bytes [Start, End) of the data area.</summary>
    readonly record struct Entry(string Name, string DType, long[] Shape, long Start, long End);

    /// <summary>Reads every tensor and the optional metadata of a file.</summary>
    /// <param name="path">The .safetensors file (a regular file).</param>
    /// <param name="cancel">Checked while reading.</param>
    public static (Dictionary<string, SafeTensor> Tensors, Dictionary<string, string> Metadata) Read(string path, CancellationToken cancel = default)
    {
        using var stream = UserFiles.OpenRead(path, "tensor file");
        try
        {
            long length = stream.Length;
            if (length < 8) throw Bad(path, "shorter than the 8-byte header length");
            Span<byte> prefix = stackalloc byte[8];
            stream.ReadExactly(prefix);
            ulong n = BinaryPrimitives.ReadUInt64LittleEndian(prefix);
            CheckHeaderLength(n, length, path);
            var header = new byte[n];
            ReadInto(stream, header, cancel);
            var (entries, metadata) = ParseHeader(header, length - 8 - (long)n, path);
            long total = 0;
            foreach (var e in entries) total += e.End - e.Start;
            MemoryBudget.Require(total, $"reading {path}", "close other programs or use a machine with more memory", SeddException.Environment);
            var tensors = new Dictionary<string, SafeTensor>(StringComparer.Ordinal);
            long dataStart = 8 + (long)n;
            foreach (var e in entries.OrderBy(e => e.Start))
            {
                cancel.ThrowIfCancellationRequested();
                var data = new byte[e.End - e.Start];
                stream.Position = dataStart + e.Start;
                ReadInto(stream, data, cancel);
                tensors[e.Name] = new SafeTensor(e.DType, e.Shape, data);
            }
            return (tensors, metadata);
        }
        catch (EndOfStreamException) { throw Bad(path, "it ended early (truncated?)"); }
        catch (IOException e) { throw new SeddException($"cannot read {path}: {e.Message}", SeddException.BadInput); }
    }

    /// <summary>Parses a safetensors image held in memory.</summary>
    /// <param name="bytes">The whole file.</param>
    /// <param name="what">Name used in error messages.</param>
    public static (Dictionary<string, SafeTensor> Tensors, Dictionary<string, string> Metadata) Parse(byte[] bytes, string what)
    {
        ArgumentNullException.ThrowIfNull(bytes);
        if (bytes.Length < 8) throw Bad(what, "shorter than the 8-byte header length");
        ulong n = BinaryPrimitives.ReadUInt64LittleEndian(bytes);
        CheckHeaderLength(n, bytes.Length, what);
        long dataStart = 8 + (long)n;
        var (entries, metadata) = ParseHeader(bytes.AsMemory(8, (int)n), bytes.Length - dataStart, what);
        var tensors = new Dictionary<string, SafeTensor>(StringComparer.Ordinal);
        foreach (var e in entries)
            tensors[e.Name] = new SafeTensor(e.DType, e.Shape, bytes.AsSpan((int)(dataStart + e.Start), (int)(e.End - e.Start)).ToArray());
        return (tensors, metadata);
    }

    static void CheckHeaderLength(ulong n, long fileLength, string what)
    {
        if (n > (ulong)(fileLength - 8)) throw Bad(what, $"header length {n} exceeds the file size {fileLength}");
        if (n > MaxHeaderBytes) throw Bad(what, $"header length {n} exceeds the limit of {MaxHeaderBytes} bytes");
        if (n < 2) throw Bad(what, "header is not a JSON object");
    }

    /// <summary>The header's tensors, checked against the data area of <paramref name="dataLength"/> bytes.</summary>
    static (List<Entry> Entries, Dictionary<string, string> Metadata) ParseHeader(ReadOnlyMemory<byte> header, long dataLength, string what)
    {
        // JsonDocument checks UTF-8 only when a string is read; check it all first.
        if (!System.Text.Unicode.Utf8.IsValid(header.Span)) throw Bad(what, "header is not a JSON object (it is not valid UTF-8)");
        JsonDocument doc;
        try { doc = JsonDocument.Parse(header, StrictJson.DocumentOptions); }
        catch (JsonException e) { throw Bad(what, $"header is not a JSON object ({e.Message.Split('\n')[0]})"); }
        var entries = new List<Entry>();
        var metadata = new Dictionary<string, string>(StringComparer.Ordinal);
        using (doc)
        {
            if (doc.RootElement.ValueKind != JsonValueKind.Object) throw Bad(what, "header is not a JSON object");
            foreach (var property in doc.RootElement.EnumerateObject())
            {
                var name = property.Name;
                var node = property.Value;
                if (name == "__metadata__")
                {
                    if (node.ValueKind != JsonValueKind.Object) throw Bad(what, "__metadata__ is not an object of strings");
                    foreach (var m in node.EnumerateObject())
                        metadata[m.Name] = m.Value.ValueKind == JsonValueKind.String ? m.Value.GetString()! : throw Bad(what, $"__metadata__ value {m.Name} is not a string");
                    continue;
                }
                entries.Add(ParseEntry(name, node, dataLength, what));
            }
        }
        // Tensors may not share bytes (the reference writer tiles the data area; an overlap is a crafted file).
        long end = 0;
        string previous = "";
        foreach (var e in entries.Where(e => e.End > e.Start).OrderBy(e => e.Start))
        {
            if (e.Start < end) throw Bad(what, $"tensors {previous} and {e.Name} overlap");
            (end, previous) = (e.End, e.Name);
        }
        return (entries, metadata);
    }

    static Entry ParseEntry(string name, JsonElement node, long dataLength, string what)
    {
        if (node.ValueKind != JsonValueKind.Object) throw Bad(what, $"tensor {name} is not described by an object");
        if (!node.TryGetProperty("dtype", out var d) || d.ValueKind != JsonValueKind.String) throw Bad(what, $"tensor {name} has no dtype");
        var dtype = d.GetString()!;
        if (!ElementSize.TryGetValue(dtype, out int size)) throw Bad(what, $"tensor {name} has unsupported dtype {dtype}");
        var shape = Integers(node, "shape", name, what);
        var offsets = Integers(node, "data_offsets", name, what);
        if (offsets.Length != 2) throw Bad(what, $"tensor {name} has {offsets.Length} data_offsets, expected 2");
        if (offsets[1] < offsets[0] || offsets[1] > dataLength) throw Bad(what, $"tensor {name} lies outside the file (truncated?)");
        long count = MemoryBudget.Product(shape);
        long bytes = MemoryBudget.Product(count, size);
        if (bytes != offsets[1] - offsets[0])
            throw Bad(what, $"tensor {name} has {offsets[1] - offsets[0]} bytes, its shape [{string.Join(", ", shape)}] of {dtype} needs {(bytes == long.MaxValue ? "more than the file holds" : bytes.ToString(System.Globalization.CultureInfo.InvariantCulture))}");
        return new Entry(name, dtype, shape, offsets[0], offsets[1]);
    }

    // A JSON array of non-negative integers (shape dims, offsets); anything else is a bad header.
    static long[] Integers(JsonElement node, string key, string name, string what)
    {
        if (!node.TryGetProperty(key, out var a) || a.ValueKind != JsonValueKind.Array) throw Bad(what, $"tensor {name} has no {key} array");
        var values = new long[a.GetArrayLength()];
        int i = 0;
        foreach (var v in a.EnumerateArray())
        {
            if (v.ValueKind != JsonValueKind.Number || !v.TryGetInt64(out long x) || x < 0)
                throw Bad(what, $"tensor {name} has {key} entry {v.GetRawText()}, expected a non-negative integer");
            values[i++] = x;
        }
        return values;
    }

    static void ReadInto(Stream stream, byte[] buffer, CancellationToken cancel)
    {
        for (int at = 0; at < buffer.Length;)
        {
            cancel.ThrowIfCancellationRequested();
            int n = stream.Read(buffer, at, Math.Min(Chunk, buffer.Length - at));
            if (n == 0) throw new EndOfStreamException();
            at += n;
        }
    }

    /// <summary>Serialises tensors (sorted by name) and optional metadata to a safetensors image.</summary>
    /// <param name="tensors">Name → tensor.</param>
    /// <param name="metadata">Optional string metadata (__metadata__).</param>
    public static byte[] Serialize(IReadOnlyDictionary<string, SafeTensor> tensors, IReadOnlyDictionary<string, string>? metadata = null)
    {
        using var stream = new MemoryStream();
        WriteTo(stream, tensors, metadata, CancellationToken.None);
        return stream.ToArray();
    }

    /// <summary>Writes a safetensors file atomically (temporary file, then rename), streaming the tensors.</summary>
    /// <param name="path">Destination.</param>
    /// <param name="tensors">Name → tensor.</param>
    /// <param name="metadata">Optional metadata.</param>
    /// <param name="cancel">Checked between tensors; a cancelled write leaves nothing behind.</param>
    public static void Write(string path, IReadOnlyDictionary<string, SafeTensor> tensors, IReadOnlyDictionary<string, string>? metadata = null,
        CancellationToken cancel = default) =>
        AtomicFile.Write(path, stream => WriteTo(stream, tensors, metadata, cancel));

    static void WriteTo(Stream stream, IReadOnlyDictionary<string, SafeTensor> tensors, IReadOnlyDictionary<string, string>? metadata, CancellationToken cancel)
    {
        ArgumentNullException.ThrowIfNull(tensors);
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
        Span<byte> prefix = stackalloc byte[8];
        BinaryPrimitives.WriteUInt64LittleEndian(prefix, (ulong)padded);
        stream.Write(prefix);
        stream.Write(json);
        for (int i = json.Length; i < padded; i++) stream.WriteByte((byte)' ');
        foreach (var name in names)
        {
            var data = tensors[name].Data;
            for (int at = 0; at < data.Length; at += Chunk)
            {
                cancel.ThrowIfCancellationRequested();
                stream.Write(data, at, Math.Min(Chunk, data.Length - at));
            }
        }
    }

    static SeddException Bad(string what, string why) => new($"{what} is not a valid safetensors file: {why}", SeddException.BadInput);
}
