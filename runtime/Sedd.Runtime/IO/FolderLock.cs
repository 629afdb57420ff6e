using System.Diagnostics;
using System.Runtime.InteropServices;

namespace Sedd.Runtime.IO;

/// <summary>
/// An exclusive advisory lock on a folder (flock(2) on the folder itself, Linux and macOS), held by one
/// process at a time and released by the kernel when the process ends, however it ends: no lock file
/// is left behind. Tools that rename and delete inside a folder take it around those steps so that two
/// runs never interleave them. On Windows the lock is a no-op.
/// </summary>
public sealed partial class FolderLock : IDisposable
{
    const int LockEx = 2, LockNb = 4, LockUn = 8;
    // O_RDONLY | O_CLOEXEC: a folder can be opened for reading and locked; the lock is this process's, not a child's.
    const int OpenLinux = 0x80000, OpenMac = 0x1000000;

    int fd;

    FolderLock(int fd) => this.fd = fd;

    /// <summary>
    /// Takes the lock on <paramref name="folder"/>, waiting while another process holds it (checking
    /// <paramref name="cancel"/>), at most <paramref name="timeout"/>.
    /// </summary>
    /// <param name="folder">An existing folder.</param>
    /// <param name="cancel">Stops the wait.</param>
    /// <param name="timeout">Longest wait; then an environment error.</param>
    public static FolderLock Acquire(string folder, CancellationToken cancel = default, TimeSpan? timeout = null)
    {
        ArgumentNullException.ThrowIfNull(folder);
        if (!OperatingSystem.IsLinux() && !OperatingSystem.IsMacOS()) return new FolderLock(-1);
        var kind = FileKinds.Of(folder);
        if (kind != FileKind.Directory)
            throw new SeddException($"{folder} is {FileKinds.Describe(kind)}; expected a folder", SeddException.Environment);
        int handle = Open(folder, OperatingSystem.IsLinux() ? OpenLinux : OpenMac);
        if (handle < 0)
            throw new SeddException($"cannot open the folder {folder} to lock it (errno {Marshal.GetLastPInvokeError()})", SeddException.Environment);
        var clock = Stopwatch.StartNew();
        var limit = timeout ?? TimeSpan.FromMinutes(2);
        try
        {
            while (Flock(handle, LockEx | LockNb) != 0)
            {
                cancel.ThrowIfCancellationRequested();
                if (clock.Elapsed > limit)
                    throw new SeddException($"another process has held the lock on {folder} for {limit.TotalSeconds:F0} s; try again when it has finished", SeddException.Environment);
                Thread.Sleep(50);
            }
        }
        catch
        {
            Close(handle);
            throw;
        }
        return new FolderLock(handle);
    }

    /// <summary>Releases the lock.</summary>
    public void Dispose()
    {
        if (fd < 0) return;
        Flock(fd, LockUn);
        Close(fd);
        fd = -1;
    }

    [LibraryImport("libc", EntryPoint = "open", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    private static partial int Open(string path, int flags);

    [LibraryImport("libc", EntryPoint = "flock", SetLastError = true)]
    private static partial int Flock(int fd, int operation);

    [LibraryImport("libc", EntryPoint = "close", SetLastError = true)]
    private static partial int Close(int fd);
}
