using System.Text;

namespace Sedd.Runtime.Onnx;

/// <summary>
/// The files an ONNX model makes ONNX Runtime read besides itself: the <c>location</c> of every tensor
/// stored as external data (onnx.proto <c>TensorProto.external_data</c>), wherever the tensor sits —
/// initializers, sparse initializers, attribute tensors, subgraphs of If/Loop, functions, training
/// graphs. A package must list (and so checksum) each of them: otherwise a swapped <c>model.onnx.data</c>
/// would load unverified. The protobuf is walked as a stream, skipping every byte that cannot hold such
/// a reference (raw tensor data is seeked over, never read), with nesting and string sizes bounded.
/// </summary>
public static class OnnxExternalData
{
    /// <summary>Deepest nesting of messages accepted (graphs inside attributes inside nodes ...).</summary>
    public const int MaxDepth = 64;

    const int MaxString = 4096;

    // Message kinds of onnx.proto that can lead to a TensorProto, and the fields that do.
    enum Kind { Model, Graph, Node, Attribute, Tensor, Sparse, Function, Training, Entry }

    static Kind? Child(Kind parent, int field) => (parent, field) switch
    {
        (Kind.Model, 7) => Kind.Graph,
        (Kind.Model, 20) => Kind.Training,
        (Kind.Model, 25) => Kind.Function,
        (Kind.Graph, 1) => Kind.Node,
        (Kind.Graph, 5) => Kind.Tensor,
        (Kind.Graph, 15) => Kind.Sparse,
        (Kind.Node, 5) => Kind.Attribute,
        (Kind.Attribute, 5 or 10) => Kind.Tensor,
        (Kind.Attribute, 6 or 11) => Kind.Graph,
        (Kind.Attribute, 22 or 23) => Kind.Sparse,
        (Kind.Tensor, 13) => Kind.Entry,
        (Kind.Sparse, 1 or 2) => Kind.Tensor,
        (Kind.Function, 7) => Kind.Node,
        (Kind.Function, 11) => Kind.Attribute,
        (Kind.Training, 1 or 2) => Kind.Graph,
        _ => null,
    };

    /// <summary>
    /// Every distinct external-data location in <paramref name="stream"/> (an ONNX ModelProto), as
    /// written (relative to the model's folder). A malformed protobuf is a bad-input <see cref="SeddException"/>.
    /// </summary>
    /// <param name="stream">A seekable stream positioned at the model's start.</param>
    /// <param name="what">The model's name for messages.</param>
    /// <param name="cancel">Checked as the walk goes.</param>
    public static IReadOnlyList<string> Locations(Stream stream, string what, CancellationToken cancel = default)
    {
        ArgumentNullException.ThrowIfNull(stream);
        var found = new SortedSet<string>(StringComparer.Ordinal);
        var reader = new Reader(stream, what, cancel);
        reader.Message(Kind.Model, stream.Length, 0, found);
        return [.. found];
    }

    /// <summary>The external-data locations of the model file at <paramref name="path"/> (a regular file).</summary>
    /// <param name="path">The .onnx file.</param>
    /// <param name="cancel">Checked as the walk goes.</param>
    public static IReadOnlyList<string> Locations(string path, CancellationToken cancel = default)
    {
        using var stream = IO.UserFiles.OpenRead(path, "ONNX model");
        try { return Locations(stream, path, cancel); }
        catch (IOException e) { throw new SeddException($"ONNX model {path} cannot be read: {e.Message}", SeddException.BadInput); }
    }

    sealed class Reader(Stream stream, string what, CancellationToken cancel)
    {
        long steps;

        public void Message(Kind kind, long end, int depth, SortedSet<string> found)
        {
            if (depth > MaxDepth) throw Bad($"messages nest more than {MaxDepth} deep");
            string? key = null, value = null;
            while (stream.Position < end)
            {
                if ((++steps & 0xFFF) == 0) cancel.ThrowIfCancellationRequested();
                ulong tag = Varint(end);
                int field = (int)(tag >> 3), wire = (int)(tag & 7);
                if (field == 0) throw Bad("a field has number 0");
                switch (wire)
                {
                    case 0: Varint(end); break;
                    case 1: Skip(8, end); break;
                    case 5: Skip(4, end); break;
                    case 2:
                        long length = checked((long)Math.Min(Varint(end), (ulong)long.MaxValue));
                        if (length > end - stream.Position) throw Bad("a field runs past the end of its message (truncated?)");
                        long stop = stream.Position + length;
                        if (kind == Kind.Entry && field is 1 or 2)
                        {
                            var text = String(length);
                            if (field == 1) key = text;
                            else value = text;
                        }
                        else if (Child(kind, field) is { } child) Message(child, stop, depth + 1, found);
                        else stream.Position = stop;
                        if (stream.Position != stop) throw Bad("a nested message does not end where its length says");
                        break;
                    default:
                        throw Bad($"field {field} has wire type {wire}, which ONNX does not use");
                }
            }
            if (stream.Position != end) throw Bad("a field runs past the end of its message (truncated?)");
            if (kind == Kind.Entry && key == "location" && value != null) found.Add(value);
        }

        ulong Varint(long end)
        {
            ulong result = 0;
            for (int shift = 0; shift < 70; shift += 7)
            {
                if (stream.Position >= end) throw Bad("a number runs past the end of its message (truncated?)");
                int b = stream.ReadByte();
                if (b < 0) throw Bad("it ends inside a number (truncated?)");
                result |= (ulong)(b & 0x7F) << shift;
                if ((b & 0x80) == 0) return result;
            }
            throw Bad("a number is longer than 10 bytes");
        }

        void Skip(long bytes, long end)
        {
            if (bytes > end - stream.Position) throw Bad("a field runs past the end of its message (truncated?)");
            stream.Position += bytes;
        }

        string String(long length)
        {
            if (length > MaxString) throw Bad($"an external-data entry is longer than {MaxString} bytes");
            var bytes = new byte[length];
            stream.ReadExactly(bytes);
            try { return new UTF8Encoding(false, true).GetString(bytes); }
            catch (DecoderFallbackException) { throw Bad("an external-data entry is not UTF-8"); }
        }

        SeddException Bad(string why) => new($"{what} is not a valid ONNX model: {why}", SeddException.BadInput);
    }
}
