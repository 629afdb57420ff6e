using System.Security.Cryptography;
using Sedd.Runtime.IO;

namespace Sedd.Runtime.Package;

/// <summary>Path safety and checksums for package files.</summary>
public static class PackagePaths
{
    /// <summary>
    /// Refuses a manifest path that could leave the package folder: absolute or rooted paths, drive
    /// letters, backslashes, empty segments, "." and "..", control characters.
    /// </summary>
    /// <param name="relative">Path as written in the manifest.</param>
    /// <param name="what">Manifest name for the message.</param>
    public static void RequireInside(string relative, string what)
    {
        bool bad = string.IsNullOrEmpty(relative) || relative.Contains('\\', StringComparison.Ordinal) || relative.Contains(':', StringComparison.Ordinal)
            || relative.StartsWith('/') || Path.IsPathRooted(relative) || relative.Any(char.IsControl)
            || relative.Split('/').Any(s => s is "" or "." or "..");
        if (bad) throw new SeddException($"{what} names the file '{relative}', which is not a plain path inside the package folder", SeddException.BadInput);
    }

    /// <summary>Lower-case hex SHA-256 of a regular file, read in chunks that watch <paramref name="cancel"/>.</summary>
    /// <param name="path">File.</param>
    /// <param name="cancel">Checked between chunks of 1 MiB.</param>
    public static string Sha256(string path, CancellationToken cancel = default)
    {
        using var stream = UserFiles.OpenRead(path, "package file");
        using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        var buffer = new byte[1 << 20];
        try
        {
            int n;
            while ((n = stream.Read(buffer, 0, buffer.Length)) > 0)
            {
                cancel.ThrowIfCancellationRequested();
                hash.AppendData(buffer, 0, n);
            }
        }
        catch (IOException e) { throw new SeddException($"package file {path} cannot be read: {e.Message}", SeddException.BadInput); }
        return Convert.ToHexStringLower(hash.GetHashAndReset());
    }
}
