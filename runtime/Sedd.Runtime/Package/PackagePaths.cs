using System.Security.Cryptography;

namespace Sedd.Runtime.Package;

/// <summary>Path safety and checksums for package files.</summary>
public static class PackagePaths
{
    /// <summary>
    /// Refuses a manifest path that could leave the package folder: absolute or rooted paths, drive
    /// letters, backslashes, empty segments, "." and "..".
    /// </summary>
    /// <param name="relative">Path as written in the manifest.</param>
    /// <param name="what">Manifest name for the message.</param>
    public static void RequireInside(string relative, string what)
    {
        bool bad = string.IsNullOrEmpty(relative) || relative.Contains('\\', StringComparison.Ordinal) || relative.Contains(':', StringComparison.Ordinal)
            || relative.StartsWith('/') || Path.IsPathRooted(relative)
            || relative.Split('/').Any(s => s is "" or "." or "..");
        if (bad) throw new SeddException($"{what} names the file '{relative}', which is not a plain path inside the package folder", SeddException.BadInput);
    }

    /// <summary>Lower-case hex SHA-256 of a file.</summary>
    /// <param name="path">File.</param>
    public static string Sha256(string path)
    {
        using var stream = File.OpenRead(path);
        return Convert.ToHexStringLower(SHA256.HashData(stream));
    }
}
