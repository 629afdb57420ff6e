using System.Runtime.InteropServices;

namespace Sedd.Runtime.IO;

/// <summary>What a path names, read without opening it (opening a FIFO blocks until a writer comes).</summary>
public enum FileKind
{
    /// <summary>Nothing exists at the path (or a link points nowhere).</summary>
    Missing,

    /// <summary>A regular file (after following links).</summary>
    Regular,

    /// <summary>A directory (after following links).</summary>
    Directory,

    /// <summary>A FIFO (named pipe).</summary>
    Fifo,

    /// <summary>A character or block device.</summary>
    Device,

    /// <summary>A Unix socket.</summary>
    Socket,

    /// <summary>A chain of symbolic links that never ends (ELOOP).</summary>
    LinkLoop,

    /// <summary>The path cannot be examined (permissions, a name too long, ...).</summary>
    Unknown,
}

/// <summary>
/// Reads a path's file type with statx (Linux) or stat (macOS), following symbolic links, so that
/// tools can refuse a FIFO, device or socket in one line instead of blocking in open(2).
/// .NET reports all of these as <see cref="FileAttributes.Normal"/>.
/// </summary>
public static partial class FileKinds
{
    const int AtFdCwd = -100;
    const uint StatxType = 0x0001;
    const int Eloop = 40;      // Linux
    const int EloopMac = 62;   // macOS

    /// <summary>The kind of file at <paramref name="path"/>, following links.</summary>
    /// <param name="path">Any path.</param>
    public static FileKind Of(string path)
    {
        ArgumentNullException.ThrowIfNull(path);
        if (path.Length == 0 || path.Contains('\0')) return FileKind.Missing;
        if (OperatingSystem.IsLinux()) return OfLinux(path);
        if (OperatingSystem.IsMacOS()) return OfMac(path);
        // Windows: named pipes and devices live under \\.\ and are never plain paths.
        if (path.StartsWith(@"\\.\", StringComparison.Ordinal) || path.StartsWith(@"\\?\GLOBALROOT", StringComparison.OrdinalIgnoreCase)) return FileKind.Device;
        if (Directory.Exists(path)) return FileKind.Directory;
        return File.Exists(path) ? FileKind.Regular : FileKind.Missing;
    }

    static unsafe FileKind OfLinux(string path)
    {
        // struct statx has the same layout on every Linux architecture: stx_mode is a u16 at offset 28.
        byte* buffer = stackalloc byte[256];
        int rc = Statx(AtFdCwd, path, 0, StatxType, buffer);
        if (rc != 0) return FromErrno(Marshal.GetLastPInvokeError(), Eloop);
        return FromMode(*(ushort*)(buffer + 28));
    }

    static unsafe FileKind OfMac(string path)
    {
        // Darwin's 64-bit struct stat: st_dev (int32) then st_mode (u16) at offset 4.
        byte* buffer = stackalloc byte[256];
        int rc = StatMac(path, buffer);
        if (rc != 0) return FromErrno(Marshal.GetLastPInvokeError(), EloopMac);
        return FromMode(*(ushort*)(buffer + 4));
    }

    static FileKind FromErrno(int errno, int eloop) => errno switch
    {
        2 or 20 => FileKind.Missing,   // ENOENT, ENOTDIR
        _ when errno == eloop => FileKind.LinkLoop,
        _ => FileKind.Unknown,
    };

    static FileKind FromMode(ushort mode) => (mode & 0xF000) switch
    {
        0x8000 => FileKind.Regular,
        0x4000 => FileKind.Directory,
        0x1000 => FileKind.Fifo,
        0x2000 or 0x6000 => FileKind.Device,
        0xC000 => FileKind.Socket,
        _ => FileKind.Unknown,
    };

    [LibraryImport("libc", EntryPoint = "statx", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    private static unsafe partial int Statx(int dirfd, string path, int flags, uint mask, byte* buffer);

    [LibraryImport("libc", EntryPoint = "stat", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    private static unsafe partial int StatMac(string path, byte* buffer);

    /// <summary>A short phrase for messages: "a FIFO", "a directory", ...</summary>
    /// <param name="kind">The kind.</param>
    public static string Describe(FileKind kind) => kind switch
    {
        FileKind.Missing => "missing",
        FileKind.Regular => "a regular file",
        FileKind.Directory => "a directory",
        FileKind.Fifo => "a FIFO (named pipe)",
        FileKind.Device => "a device",
        FileKind.Socket => "a socket",
        FileKind.LinkLoop => "a loop of symbolic links",
        _ => "not readable",
    };
}
