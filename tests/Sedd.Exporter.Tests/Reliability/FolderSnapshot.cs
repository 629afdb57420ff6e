using Sedd.Runtime.Package;

namespace Sedd.Tests;

/// <summary>Every file under a folder (relative path, size, SHA-256) as one string: equal snapshots mean nothing was touched.</summary>
static class FolderSnapshot
{
    public static string Of(string folder) => string.Join("\n", Directory.GetFiles(folder, "*", SearchOption.AllDirectories)
        .Select(f => (Rel: Path.GetRelativePath(folder, f), Path: f)).OrderBy(f => f.Rel, StringComparer.Ordinal)
        .Select(f => $"{f.Rel} {new FileInfo(f.Path).Length} {PackagePaths.Sha256(f.Path)}"));

    /// <summary>Hidden entries a killed or finished export could have left in <paramref name="parent"/>.</summary>
    public static string[] Leftovers(string parent) =>
        [.. Directory.GetFileSystemEntries(parent, ".*sedd-export-*").Select(Path.GetFileName).Order(StringComparer.Ordinal)!];
}
