using System.Buffers.Binary;
using System.IO.Compression;
using System.Text;

namespace Sedd.Tests;

/// <summary>
/// Hand-made torch.save archives for hostile-input tests: <c>archive/data.pkl</c> (a pickle written opcode
/// by opcode) and raw storages <c>archive/data/KEY</c>, stored uncompressed as torch does.
/// </summary>
static class TorchZip
{
    public static void Write(string path, byte[] pickle, IReadOnlyDictionary<string, byte[]>? storages = null)
    {
        using var zip = ZipFile.Open(path, ZipArchiveMode.Create);
        void Add(string name, byte[] bytes)
        {
            using var s = zip.CreateEntry(name, CompressionLevel.NoCompression).Open();
            s.Write(bytes);
        }
        Add("archive/data.pkl", pickle);
        foreach (var (key, bytes) in storages ?? new Dictionary<string, byte[]>()) Add("archive/data/" + key, bytes);
        Add("archive/version", "3\n"u8.ToArray());
    }

    /// <summary>
    /// {"w": _rebuild_tensor_v2(storage "0" of <paramref name="numel"/> floats, offset, size, stride, False, OrderedDict())},
    /// the pickle torch.save writes for a one-tensor state_dict.
    /// </summary>
    public static byte[] StateDict(long numel, long offset, long[] size, long[] stride)
    {
        var p = new Pickle();
        p.Op(0x80).Byte(2)                                        // PROTO 2
         .Op('}')                                                 // EMPTY_DICT
         .Unicode("w")
         .Global("torch._utils", "_rebuild_tensor_v2")
         .Op('(')                                                 // MARK (arguments)
         .Op('(').Unicode("storage").Global("torch", "FloatStorage").Unicode("0").Unicode("cpu").Long(numel).Op('t').Op('Q')   // BINPERSID
         .Long(offset)
         .Op('(');
        foreach (var d in size) p.Long(d);
        p.Op('t').Op('(');
        foreach (var s in stride) p.Long(s);
        p.Op('t').Op(0x89)                                        // NEWFALSE
         .Global("collections", "OrderedDict").Op(')').Op('R')    // hooks
         .Op('t').Op('R')                                         // REDUCE
         .Op('s')                                                 // SETITEM
         .Op('.');
        return p.ToArray();
    }

    /// <summary>A pickle builder, one opcode at a time.</summary>
    public sealed class Pickle
    {
        readonly MemoryStream bytes = new();

        public Pickle Op(char op) => Byte((byte)op);

        public Pickle Op(int op) => Byte((byte)op);

        public Pickle Byte(byte b)
        {
            bytes.WriteByte(b);
            return this;
        }

        public Pickle Raw(ReadOnlySpan<byte> data)
        {
            bytes.Write(data);
            return this;
        }

        public Pickle Unicode(string s)
        {
            var utf8 = Encoding.UTF8.GetBytes(s);
            Span<byte> n = stackalloc byte[4];
            BinaryPrimitives.WriteInt32LittleEndian(n, utf8.Length);
            return Op('X').Raw(n).Raw(utf8);
        }

        public Pickle Global(string module, string name) => Op('c').Raw(Encoding.ASCII.GetBytes($"{module}\n{name}\n"));

        public Pickle Long(long value)
        {
            Span<byte> b = stackalloc byte[8];
            BinaryPrimitives.WriteInt64LittleEndian(b, value);
            return Op(0x8a).Byte(8).Raw(b);                       // LONG1 with 8 bytes
        }

        public byte[] ToArray() => bytes.ToArray();
    }
}
