using System.Runtime.InteropServices;

namespace Sedd.Runtime.IO;

/// <summary>
/// Exchanges two folders in one atomic step (renameat2 with RENAME_EXCHANGE on Linux, renamex_np with
/// RENAME_SWAP on macOS): at every instant each name holds one of the two folders, so replacing a
/// folder this way never passes through a moment where its name is missing. Where the system or the
/// file system cannot (Windows, some network file systems), <see cref="TryExchange"/> says so and the
/// caller falls back to two renames with a recovery journal.
/// </summary>
public static partial class FolderSwap
{
    const int AtFdCwd = -100;
    const uint RenameExchange = 2;   // linux/fs.h
    const uint RenameSwap = 2;       // macOS sys/stdio.h

    /// <summary>Swaps <paramref name="a"/> and <paramref name="b"/> (both existing, same file system); false when unsupported.</summary>
    /// <param name="a">A folder.</param>
    /// <param name="b">Another folder.</param>
    /// <exception cref="IOException">The swap was supported but failed (permissions, a missing folder, ...).</exception>
    public static bool TryExchange(string a, string b)
    {
        ArgumentNullException.ThrowIfNull(a);
        ArgumentNullException.ThrowIfNull(b);
        int rc;
        try
        {
            if (OperatingSystem.IsLinux()) rc = RenameAt2(AtFdCwd, a, AtFdCwd, b, RenameExchange);
            else if (OperatingSystem.IsMacOS()) rc = RenameXNp(a, b, RenameSwap);
            else return false;
        }
        catch (EntryPointNotFoundException) { return false; }   // a C library older than the call
        if (rc == 0) return true;
        int errno = Marshal.GetLastPInvokeError();
        // EINVAL / ENOSYS / ENOTSUP / EOPNOTSUPP: this kernel or file system cannot exchange.
        if (errno is 22 or 38 or 95 or 45 or 102) return false;
        throw new IOException($"cannot exchange {a} and {b} (errno {errno})", errno);
    }

    [LibraryImport("libc", EntryPoint = "renameat2", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    private static partial int RenameAt2(int oldDir, string oldPath, int newDir, string newPath, uint flags);

    [LibraryImport("libc", EntryPoint = "renamex_np", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    private static partial int RenameXNp(string from, string to, uint flags);
}
