using System.Runtime.InteropServices;

namespace Sedd.Runtime.IO;

/// <summary>
/// Canonical paths with every symbolic link resolved (realpath(3) on Linux and macOS), to decide whether
/// one path lies inside another: a link inside a package may lead out of it, and <c>--out</c> may name
/// the source through a link. A loop of links is reported, never followed forever.
/// </summary>
public static partial class RealPaths
{
    const int Eloop = 40, EloopMac = 62;

    /// <summary>The canonical absolute path of an existing <paramref name="path"/>, or null with the reason.</summary>
    /// <param name="path">Any path.</param>
    /// <param name="failure">Why there is none: <see cref="FileKind.Missing"/>, <see cref="FileKind.LinkLoop"/> or <see cref="FileKind.Unknown"/>.</param>
    public static string? TryResolve(string path, out FileKind failure)
    {
        ArgumentNullException.ThrowIfNull(path);
        failure = FileKind.Unknown;
        if (path.Length == 0 || path.Contains('\0'))
        {
            failure = FileKind.Missing;
            return null;
        }
        if (OperatingSystem.IsLinux() || OperatingSystem.IsMacOS())
        {
            nint resolved = RealPath(path, 0);
            if (resolved == 0)
            {
                int errno = Marshal.GetLastPInvokeError();
                failure = errno is 2 or 20 ? FileKind.Missing : errno is Eloop or EloopMac ? FileKind.LinkLoop : FileKind.Unknown;
                return null;
            }
            try { return Marshal.PtrToStringUTF8(resolved); }
            finally { Free(resolved); }
        }
        return ResolveManaged(path, out failure);
    }

    /// <summary>The canonical path of <paramref name="path"/>; throws a bad-input <see cref="SeddException"/> naming <paramref name="what"/> when it has none.</summary>
    /// <param name="path">An existing path.</param>
    /// <param name="what">How messages name it.</param>
    public static string Resolve(string path, string what)
    {
        var real = TryResolve(path, out var failure);
        if (real != null) return real;
        throw new SeddException(failure switch
        {
            FileKind.Missing => $"{what} {path} does not exist",
            FileKind.LinkLoop => $"{what} {path} is a loop of symbolic links",
            _ => $"{what} {path} cannot be examined",
        }, SeddException.BadInput);
    }

    /// <summary>Whether canonical <paramref name="inner"/> equals or lies below canonical <paramref name="outer"/>.</summary>
    /// <param name="inner">A canonical path.</param>
    /// <param name="outer">A canonical folder.</param>
    public static bool IsSameOrInside(string inner, string outer)
    {
        ArgumentNullException.ThrowIfNull(inner);
        ArgumentNullException.ThrowIfNull(outer);
        var comparison = OperatingSystem.IsWindows() || OperatingSystem.IsMacOS() ? StringComparison.OrdinalIgnoreCase : StringComparison.Ordinal;
        var o = outer.TrimEnd(Path.DirectorySeparatorChar);
        if (o.Length == 0) return true;   // the file system root holds everything
        return inner.Equals(o, comparison) || inner.StartsWith(o + Path.DirectorySeparatorChar, comparison);
    }

    // Windows: follow links one component at a time with the managed API (there are no FIFOs to fear).
    static string? ResolveManaged(string path, out FileKind failure)
    {
        failure = FileKind.Unknown;
        try
        {
            var full = Path.GetFullPath(path);
            FileSystemInfo info = Directory.Exists(full) ? new DirectoryInfo(full) : new FileInfo(full);
            if (!info.Exists)
            {
                failure = FileKind.Missing;
                return null;
            }
            var target = info.LinkTarget != null ? info.ResolveLinkTarget(returnFinalTarget: true) : null;
            return target?.FullName ?? full;
        }
        catch (IOException)
        {
            failure = FileKind.LinkLoop;
            return null;
        }
        catch (UnauthorizedAccessException) { return null; }
    }

    [LibraryImport("libc", EntryPoint = "realpath", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    private static partial nint RealPath(string path, nint resolved);

    [LibraryImport("libc", EntryPoint = "free")]
    private static partial void Free(nint pointer);
}
