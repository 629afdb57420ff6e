using System.Diagnostics;
using System.IO.Compression;
using CsCheck;
using Sedd.Exporter.Sources;
using Sedd.Runtime;
using Sedd.Runtime.IO;
using Sedd.Tests.Shared;

namespace Sedd.Tests;

/// <summary>
/// torch.save archives are untrusted: a crafted pickle of a few hundred bytes may not make the reader
/// allocate more than the file holds (tensor sizes, strides and offsets are checked against the storage
/// and the file before anything is allocated; argument lengths against the pickle), and random or
/// mutated archives end in success or a one-line bad-input error, never another exception or a hang.
/// </summary>
public sealed class TorchPickleTest : IDisposable
{
    readonly string root = Directory.CreateTempSubdirectory("sedd-pickle-").FullName;

    static readonly byte[] FourFloats = [.. BitConverter.GetBytes(1f), .. BitConverter.GetBytes(2f), .. BitConverter.GetBytes(3f), .. BitConverter.GetBytes(4f)];

    string Archive(byte[] pickle, byte[]? storage = null)
    {
        var path = Path.Combine(root, Guid.NewGuid().ToString("N") + ".pth");
        TorchZip.Write(path, pickle, new Dictionary<string, byte[]> { ["0"] = storage ?? FourFloats });
        return path;
    }

    [Fact]
    public void TorchPickle_HandMadeArchive_Loads()
    {
        var dict = (System.Collections.IDictionary)TorchPickle.Load(Archive(TorchZip.StateDict(4, 0, [2, 2], [2, 1])));
        var w = (SafeTensor)dict["w"]!;
        Assert.Equal(new long[] { 2, 2 }, w.Shape);
        Assert.Equal(new float[] { 1, 2, 3, 4 }, w.ToFloats());
        var t = (SafeTensor)((System.Collections.IDictionary)TorchPickle.Load(Archive(TorchZip.StateDict(4, 0, [2, 2], [1, 2]))))["w"]!;
        Assert.Equal(new float[] { 1, 3, 2, 4 }, t.ToFloats());   // a transposed view is gathered through its strides
    }

    public static TheoryData<string, long, long, long[], long[], string> Crafted() => new()
    {
        { "terabyte view of a 16-byte storage", 4, 0, [1L << 20, 1L << 20], [0, 0], "more than the file holds" },
        { "offset past the storage", 4, 3, [2], [1], "reaches outside its storage" },
        { "stride past the storage", 4, 0, [2, 2], [4, 1], "reaches outside its storage" },
        { "negative stride", 4, 3, [4], [-1], "which no tensor has" },
        { "negative size", 4, 0, [-4], [1], "which no tensor has" },
        { "element count that overflows", 4, 0, [1L << 62, 1L << 62, 16], [0, 0, 0], "more than" },
        { "storage that claims 2^40 elements", 1L << 40, 0, [4], [1], "elements need" },
    };

    [Theory]
    [MemberData(nameof(Crafted))]
    public void TorchPickle_CraftedTensor_RefusedBeforeAllocating(string name, long numel, long offset, long[] size, long[] stride, string expected)
    {
        var path = Archive(TorchZip.StateDict(numel, offset, size, stride));
        long before = GC.GetTotalAllocatedBytes(precise: true);
        var e = Assert.Throws<SeddException>(() => TorchPickle.Load(path));
        long allocated = GC.GetTotalAllocatedBytes(precise: true) - before;
        Assert.Equal(SeddException.BadInput, e.ExitCode);
        Assert.True(e.Message.Contains(expected, StringComparison.Ordinal), $"{name}: {e.Message}");
        Assert.True(allocated < 64 << 20, $"{name}: {allocated:N0} bytes allocated");
    }

    [Theory]
    [InlineData(0x58, 4, 0x7FFF_FFFFL)]        // BINUNICODE of 2 GB
    [InlineData(0x42, 4, 0xFFFF_FFFFL)]        // BINBYTES of 4 GB
    [InlineData(0x8e, 8, 1L << 62)]            // BINBYTES8
    [InlineData(0x8d, 8, long.MaxValue)]       // BINUNICODE8
    [InlineData(0x8b, 4, 0x7FFF_FFFFL)]        // LONG4
    public void TorchPickle_DeclaredLengthBeyondThePickle_RefusedBeforeAllocating(int op, int width, long length)
    {
        var header = new byte[width];
        for (int i = 0; i < width; i++) header[i] = (byte)(length >> (8 * i));
        var pickle = new TorchZip.Pickle().Op(0x80).Byte(2).Op(op).Raw(header).Raw("ab"u8).Op('.').ToArray();
        var path = Archive(pickle);
        long before = GC.GetTotalAllocatedBytes(precise: true);
        var e = Assert.Throws<SeddException>(() => TorchPickle.Load(path));
        Assert.True(GC.GetTotalAllocatedBytes(precise: true) - before < 64 << 20);
        Assert.Equal(SeddException.BadInput, e.ExitCode);
        Assert.Contains("runs past the end", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void TorchPickle_NotARegularFile_RefusedWithoutBlocking()
    {
        if (!OperatingSystem.IsLinux()) return;
        var fifo = Path.Combine(root, "fifo.pth");
        Assert.Equal(0, Tests.Shared.ToolProcess.RunExecutable("mkfifo", fifo).Code);
        var clock = Stopwatch.StartNew();
        var e = Assert.Throws<SeddException>(() => TorchPickle.Load(fifo));
        Assert.Contains("FIFO", e.Message, StringComparison.Ordinal);
        Assert.True(clock.Elapsed < TimeSpan.FromSeconds(5));
    }

    [Fact]
    public void TorchPickle_Fuzz_RandomBytes()
    {
        Gen.Byte.Array[0, 600].Sample(bytes =>
        {
            var path = Path.Combine(root, Guid.NewGuid().ToString("N") + ".pth");
            File.WriteAllBytes(path, bytes);
            Fuzz.Expect(() => TorchPickle.Load(path), $"random file of {bytes.Length} bytes");
            File.Delete(path);
        }, iter: 200, threads: 1);
    }

    [Fact]
    public void TorchPickle_Fuzz_MutatedPickles()
    {
        // The pickle of the authors' training checkpoint (the case's own file) and a hand-made state_dict,
        // mutated, re-archived with the checkpoint's own storages.
        var pth = Directory.GetFiles(Goldens.PathOf("checkpoints"), "*.pth").Order(StringComparer.Ordinal).First();
        using var golden = ZipFile.OpenRead(pth);
        var pkl = golden.Entries.Single(e => e.FullName.EndsWith("data.pkl", StringComparison.Ordinal));
        var prefix = pkl.FullName[..^"data.pkl".Length];
        byte[] Bytes(ZipArchiveEntry e) { using var s = e.Open(); var b = new byte[e.Length]; s.ReadExactly(b); return b; }
        var storages = golden.Entries.Where(e => e.FullName.StartsWith(prefix + "data/", StringComparison.Ordinal))
            .ToDictionary(e => e.FullName[(prefix.Length + 5)..], Bytes);
        var seeds = new[] { Bytes(pkl), TorchZip.StateDict(4, 0, [2, 2], [2, 1]) };
        storages.TryAdd("0", FourFloats);
        var clock = Stopwatch.StartNew();
        foreach (var seed in seeds)
            Fuzz.Mutations(seed).Sample(mutated =>
            {
                var path = Path.Combine(root, Guid.NewGuid().ToString("N") + ".pth");
                TorchZip.Write(path, mutated, storages);
                Fuzz.Expect(() => TorchPickle.Load(path), $"mutated pickle of {mutated.Length} bytes");
                File.Delete(path);
            }, iter: 300, threads: 1);
        Assert.True(clock.Elapsed < TimeSpan.FromSeconds(30), $"{clock.Elapsed.TotalSeconds:F1} s");
    }

    [Fact]
    public void TorchPickle_Fuzz_MutatedArchives()
    {
        var pth = Directory.GetFiles(Goldens.PathOf("checkpoints"), "*.pth").Order(StringComparer.Ordinal).First();
        var bytes = File.ReadAllBytes(pth);
        // Mutations near the end hit the zip's central directory; near the start, the first entries.
        Fuzz.Mutations(bytes[^Math.Min(bytes.Length, 4096)..]).Sample(tail =>
        {
            var path = Path.Combine(root, Guid.NewGuid().ToString("N") + ".pth");
            File.WriteAllBytes(path, [.. bytes[..^Math.Min(bytes.Length, 4096)], .. tail]);
            Fuzz.Expect(() => TorchPickle.Load(path), "mutated archive");
            File.Delete(path);
        }, iter: 150, threads: 1);
    }

    public void Dispose() => Directory.Delete(root, recursive: true);
}
