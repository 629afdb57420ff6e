using System.Buffers.Binary;
using System.Diagnostics;
using System.Text;
using CsCheck;
using Sedd.Runtime.IO;
using Sedd.Tests.Shared;

namespace Sedd.Runtime.Tests.IO;

/// <summary>
/// The safetensors reader trusts nothing in a file: malformed headers (length, JSON, names, dtypes,
/// shapes, offsets, overflow, overlap, metadata) are one-line bad input (exit 2), never an internal
/// error, and nothing is allocated beyond what the file holds; random and mutated files end in success
/// or bad input, never another exception or a hang; a FIFO is refused without blocking.
/// </summary>
public sealed class SafetensorsTest : IDisposable
{
    readonly string dir = Directory.CreateTempSubdirectory("sedd-safetensors-").FullName;

    public void Dispose() => Directory.Delete(dir, recursive: true);

    static readonly byte[] Valid = Safetensors.Serialize(new Dictionary<string, SafeTensor>
    {
        ["a"] = SafeTensor.FromFloats([1f, 2f, 3f, 4f, 5f, 6f], 2, 3),
        ["b"] = SafeTensor.FromFloats([7f], 1),
    }, new Dictionary<string, string> { ["format"] = "pt" });

    static byte[] Image(string header, int dataBytes = 16, ulong? declared = null) => Image(Encoding.UTF8.GetBytes(header), dataBytes, declared);

    static byte[] Image(byte[] json, int dataBytes = 16, ulong? declared = null)
    {
        var bytes = new byte[8 + json.Length + dataBytes];
        BinaryPrimitives.WriteUInt64LittleEndian(bytes, declared ?? (ulong)json.Length);
        json.CopyTo(bytes, 8);
        return bytes;
    }

    [Fact]
    public void Safetensors_RoundTrips_FromMemoryAndFromAFile()
    {
        var (tensors, metadata) = Safetensors.Parse(Valid, "memory");
        Assert.Equal(new float[] { 1, 2, 3, 4, 5, 6 }, tensors["a"].ToFloats());
        Assert.Equal("pt", metadata["format"]);
        var path = Path.Combine(dir, "valid.safetensors");
        Safetensors.Write(path, tensors, metadata);
        Assert.Equal(Valid, System.IO.File.ReadAllBytes(path));
        Assert.Equal(new long[] { 2, 3 }, Safetensors.Read(path).Tensors["a"].Shape);
    }

    public static TheoryData<string, byte[], string> Malformed() => new()
    {
        { "too short", [1, 2, 3], "shorter than the 8-byte header length" },
        { "header longer than the file", Image("{}", declared: 1000), "exceeds the file size" },
        { "header length 2^63", Image("{}", declared: 1UL << 63), "exceeds the file size" },
        { "not JSON", Image("nope"), "header is not a JSON object" },
        { "a JSON array", Image("[1, 2]"), "header is not a JSON object" },
        { "invalid UTF-8", Image([.. "{\""u8, 0xFF, .. "\": 1}"u8]), "header is not a JSON object" },
        { "a name given twice", Image("""{"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},"a":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}}"""), "Duplicate" },
        { "entry not an object", Image("""{"a": 5}"""), "not described by an object" },
        { "no dtype", Image("""{"a":{"shape":[1],"data_offsets":[0,4]}}"""), "has no dtype" },
        { "unknown dtype", Image("""{"a":{"dtype":"F8","shape":[1],"data_offsets":[0,1]}}"""), "unsupported dtype F8" },
        { "dtype a number", Image("""{"a":{"dtype":4,"shape":[1],"data_offsets":[0,4]}}"""), "has no dtype" },
        { "no shape", Image("""{"a":{"dtype":"F32","data_offsets":[0,4]}}"""), "has no shape array" },
        { "negative dim", Image("""{"a":{"dtype":"F32","shape":[-1],"data_offsets":[0,4]}}"""), "expected a non-negative integer" },
        { "fractional dim", Image("""{"a":{"dtype":"F32","shape":[1.5],"data_offsets":[0,4]}}"""), "expected a non-negative integer" },
        { "dim beyond long", Image("""{"a":{"dtype":"F32","shape":[1e30],"data_offsets":[0,4]}}"""), "expected a non-negative integer" },
        { "dim as text", Image("""{"a":{"dtype":"F32","shape":["4"],"data_offsets":[0,4]}}"""), "expected a non-negative integer" },
        { "element count overflows", Image("""{"a":{"dtype":"F32","shape":[4294967296,4294967296,4294967296],"data_offsets":[0,0]}}"""), "more than the file holds" },
        { "huge dims, zero bytes", Image("""{"a":{"dtype":"F32","shape":[9223372036854775807,2],"data_offsets":[0,0]}}"""), "more than the file holds" },
        { "three offsets", Image("""{"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4,8]}}"""), "has 3 data_offsets" },
        { "end before start", Image("""{"a":{"dtype":"F32","shape":[1],"data_offsets":[8,4]}}"""), "lies outside the file" },
        { "past the end", Image("""{"a":{"dtype":"F32","shape":[8],"data_offsets":[0,32]}}"""), "lies outside the file (truncated?)" },
        { "offsets beyond long", Image("""{"a":{"dtype":"F32","shape":[1],"data_offsets":[0,99999999999999999999]}}"""), "expected a non-negative integer" },
        { "size mismatch", Image("""{"a":{"dtype":"F32","shape":[3],"data_offsets":[0,8]}}"""), "has 8 bytes, its shape [3] of F32 needs 12" },
        { "overlap", Image("""{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"b":{"dtype":"F32","shape":[2],"data_offsets":[4,12]}}"""), "overlap" },
        { "metadata not an object", Image("""{"__metadata__": [1]}"""), "__metadata__ is not an object" },
        { "metadata value not text", Image("""{"__metadata__": {"format": 1}}"""), "is not a string" },
        { "deep nesting", Image(new string('[', 200) + new string(']', 200)), "header is not a JSON object" },
    };

    [Theory]
    [MemberData(nameof(Malformed))]
    public void Safetensors_MalformedHeader_IsBadInput(string name, byte[] bytes, string expected)
    {
        var e = Assert.Throws<SeddException>(() => Safetensors.Parse(bytes, name));
        Assert.Equal(SeddException.BadInput, e.ExitCode);
        Assert.DoesNotContain('\n', e.Message);
        Assert.True(e.Message.Contains(expected, StringComparison.Ordinal), $"{name}: {e.Message}");
        // The same through the file reader, which reads the header first and the tensors only when it is sound.
        var path = Path.Combine(dir, "bad.safetensors");
        System.IO.File.WriteAllBytes(path, bytes);
        long before = GC.GetTotalAllocatedBytes(precise: true);
        var f = Assert.Throws<SeddException>(() => Safetensors.Read(path));
        Assert.Equal(SeddException.BadInput, f.ExitCode);
        Assert.True(GC.GetTotalAllocatedBytes(precise: true) - before < 16 << 20, name);
    }

    [Fact]
    public void Safetensors_TruncatedFile_SaysSo()
    {
        var path = Path.Combine(dir, "cut.safetensors");
        System.IO.File.WriteAllBytes(path, Valid[..^6]);
        Assert.Contains("truncated", Assert.Throws<SeddException>(() => Safetensors.Read(path)).Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Safetensors_NotARegularFile_RefusedWithoutBlocking()
    {
        if (!OperatingSystem.IsLinux()) return;
        var fifo = Path.Combine(dir, "pipe.safetensors");
        Assert.Equal(0, ToolProcess.RunExecutable("mkfifo", fifo).Code);
        var clock = Stopwatch.StartNew();
        Assert.Contains("FIFO", Assert.Throws<SeddException>(() => Safetensors.Read(fifo)).Message, StringComparison.Ordinal);
        Assert.Contains("a directory", Assert.Throws<SeddException>(() => Safetensors.Read(dir)).Message, StringComparison.Ordinal);
        Assert.True(clock.Elapsed < TimeSpan.FromSeconds(5));
    }

    [Fact]
    public void Safetensors_Fuzz_RandomBytes() =>
        Gen.Byte.Array[0, 300].Sample(bytes => Fuzz.Expect(() => Safetensors.Parse(bytes, "random"), $"{bytes.Length} random bytes"), iter: 2000, threads: 1);

    [Fact]
    public void Safetensors_Fuzz_MutatedFiles()
    {
        Fuzz.Mutations(Valid).Sample(bytes => Fuzz.Expect(() => Safetensors.Parse(bytes, "mutated"), "mutated file"), iter: 3000, threads: 1);
        var path = Path.Combine(dir, "mutated.safetensors");
        Fuzz.Mutations(Valid).Sample(bytes =>
        {
            System.IO.File.WriteAllBytes(path, bytes);
            Fuzz.Expect(() => Safetensors.Read(path), "mutated file on disk");
        }, iter: 500, threads: 1);
    }
}
