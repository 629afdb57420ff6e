using System.Runtime.InteropServices;

namespace Sedd.Trainer.Data;

/// <summary>
/// The canonical path of a file or folder with every symbolic link resolved (POSIX realpath(3)), so
/// that a corpus reached through links — including a link back to a parent folder, which would
/// otherwise be walked over and over — is read once per real file.
/// </summary>
static partial class RealPath
{
    /// <summary>The resolved absolute path, or null when it cannot be resolved (missing, a loop of links).</summary>
    /// <param name="path">Any path.</param>
    public static string? Of(string path)
    {
        if (OperatingSystem.IsLinux() || OperatingSystem.IsMacOS())
        {
            var resolved = Resolve(path, IntPtr.Zero);
            if (resolved == IntPtr.Zero) return null;
            try { return Marshal.PtrToStringUTF8(resolved); }
            finally { Free(resolved); }
        }
        // Windows: resolve the final link chain of the path itself (folders of corpora rarely hold links there).
        try
        {
            var info = new FileInfo(Path.GetFullPath(path));
            return info.ResolveLinkTarget(returnFinalTarget: true)?.FullName ?? info.FullName;
        }
        catch (IOException) { return null; }
    }

    [LibraryImport("libc", EntryPoint = "realpath", StringMarshalling = StringMarshalling.Utf8)]
    private static partial IntPtr Resolve(string path, IntPtr resolved);

    [LibraryImport("libc", EntryPoint = "free")]
    private static partial void Free(IntPtr pointer);
}
