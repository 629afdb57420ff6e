using System.Diagnostics;
using Sedd.Runtime.IO;

namespace Sedd.Runtime.Tests.IO;

/// <summary>The folder lock excludes a second holder, waits no longer than asked, stops on cancellation and leaves no file behind.</summary>
public sealed class FolderLockTest : IDisposable
{
    readonly string dir = Directory.CreateTempSubdirectory("sedd-lock-").FullName;

    public void Dispose() => Directory.Delete(dir, recursive: true);

    [Fact]
    public void FolderLock_ExcludesASecondHolderUntilReleased()
    {
        if (OperatingSystem.IsWindows()) return;
        var first = FolderLock.Acquire(dir);
        var clock = Stopwatch.StartNew();
        var e = Assert.Throws<SeddException>(() => FolderLock.Acquire(dir, timeout: TimeSpan.FromMilliseconds(300)));
        Assert.Equal(SeddException.Environment, e.ExitCode);
        Assert.InRange(clock.Elapsed.TotalSeconds, 0.25, 5);
        using (var cancel = new CancellationTokenSource(TimeSpan.FromMilliseconds(100)))
            Assert.ThrowsAny<OperationCanceledException>(() => FolderLock.Acquire(dir, cancel.Token));
        first.Dispose();
        using (FolderLock.Acquire(dir, timeout: TimeSpan.FromMilliseconds(300))) { }
        Assert.Empty(Directory.GetFileSystemEntries(dir));
    }

    [Fact]
    public void FolderLock_OnSomethingElse_IsAnEnvironmentError()
    {
        if (OperatingSystem.IsWindows()) return;
        var file = Path.Combine(dir, "file");
        File.WriteAllText(file, "x");
        Assert.Equal(SeddException.Environment, Assert.Throws<SeddException>(() => FolderLock.Acquire(file)).ExitCode);
    }
}
