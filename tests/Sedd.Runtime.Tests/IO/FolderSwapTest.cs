using Sedd.Runtime.IO;

namespace Sedd.Runtime.Tests.IO;

/// <summary>Two folders change places in one step, contents and all.</summary>
public sealed class FolderSwapTest : IDisposable
{
    readonly string dir = Directory.CreateTempSubdirectory("sedd-swap-").FullName;

    public void Dispose() => Directory.Delete(dir, recursive: true);

    [Fact]
    public void FolderSwap_ExchangesTwoFolders()
    {
        var a = Directory.CreateDirectory(Path.Combine(dir, "a")).FullName;
        var b = Directory.CreateDirectory(Path.Combine(dir, "b")).FullName;
        File.WriteAllText(Path.Combine(a, "old.txt"), "old");
        File.WriteAllText(Path.Combine(b, "new.txt"), "new");
        if (!FolderSwap.TryExchange(a, b)) return;   // a file system that cannot: the caller falls back (tested with the exporter)
        Assert.True(File.Exists(Path.Combine(a, "new.txt")));
        Assert.True(File.Exists(Path.Combine(b, "old.txt")));
        Assert.Throws<IOException>(() => FolderSwap.TryExchange(a, Path.Combine(dir, "missing")));
    }
}
