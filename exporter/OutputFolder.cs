using Sedd.Runtime;
using Sedd.Runtime.IO;
using Sedd.Runtime.Package;

namespace Sedd.Exporter;

/// <summary>
/// What <c>--out</c> may name, so that an export never destroys what a user has: a folder that does not
/// exist yet, or — with <c>--force</c> — a Sedd model package (a manifest this runtime reads) holding
/// nothing but its own files, which is neither one of the export's inputs (the source checkpoint, its run
/// folder, the config, eval and notes files) nor a folder that contains one or lies inside one. Anything
/// else is refused in one line (exit 1) before a byte is written, and checked again just before the
/// package is moved into place.
/// </summary>
public static class OutputFolder
{
    /// <summary>Throws a usage <see cref="SeddException"/> unless <paramref name="final"/> may receive the package.</summary>
    /// <param name="final">Absolute path of the package folder.</param>
    /// <param name="shown">The path as the user gave it, for messages.</param>
    /// <param name="force">Whether an existing package may be replaced.</param>
    /// <param name="inputs">The export's inputs (path, how messages name it), which must survive.</param>
    /// <param name="cancel">Checked while reading the existing manifest.</param>
    /// <returns>Whether <paramref name="final"/> exists (and will be replaced).</returns>
    public static bool RequireWritable(string final, string shown, bool force, IReadOnlyList<(string Path, string What)> inputs, CancellationToken cancel = default)
    {
        ArgumentNullException.ThrowIfNull(final);
        ArgumentNullException.ThrowIfNull(inputs);
        var kind = FileKinds.Of(final);
        if (kind == FileKind.Missing && !IsLink(final)) return false;
        if (IsLink(final))
            throw Refuse($"--out {shown} is a symbolic link; give the folder itself");
        if (kind != FileKind.Directory)
            throw Refuse(kind == FileKind.Regular ? $"--out {shown} is a file; a model package is a folder" : $"--out {shown} is {FileKinds.Describe(kind)}; a model package is a folder");
        if (!force) throw Refuse($"--out {shown} already exists; pass --force to replace it");

        var realFinal = RealPaths.Resolve(final, "--out");
        foreach (var (path, what) in inputs)
        {
            var real = RealPaths.TryResolve(path, out _);
            if (real == null) continue;
            if (RealPaths.IsSameOrInside(real, realFinal))
                throw Refuse(real == realFinal ? $"--out {shown} is the {what}; --force never replaces an export's input"
                    : $"--out {shown} holds the {what} {path}; --force never replaces a folder that holds an export's input");
            if (RealPaths.IsSameOrInside(realFinal, real))
                throw Refuse($"--out {shown} lies inside the {what} {path}; --force never replaces part of an export's input");
        }

        var manifestPath = Path.Combine(final, ModelPackage.ManifestFile);
        if (FileKinds.Of(manifestPath) != FileKind.Regular)
            throw Refuse($"--out {shown} is not a Sedd model package (it has no {ModelPackage.ManifestFile}); --force replaces only a package: choose another --out");
        ModelManifest manifest;
        try { manifest = ModelManifest.Parse(UserFiles.ReadAllText(manifestPath, "the manifest", ModelPackage.MaxManifestBytes, cancel), manifestPath); }
        catch (SeddException e)
        {
            throw Refuse($"--out {shown} is not a model package this version reads ({e.Message}); --force replaces only such a package: choose another --out or remove it yourself");
        }
        var foreign = ForeignEntry(final, manifest, cancel);
        if (foreign != null)
            throw Refuse($"--out {shown} holds {foreign}, which is not part of its package; --force replaces only a package's own files: move it out or choose another --out");
        return true;
    }

    /// <summary>
    /// The first entry of <paramref name="folder"/> (not following links) that is neither the manifest nor
    /// a file it lists, or null: such an entry is the user's, and replacing the folder would delete it.
    /// </summary>
    static string? ForeignEntry(string folder, ModelManifest manifest, CancellationToken cancel)
    {
        var pending = new Stack<(string Path, int Depth)>();
        pending.Push((folder, 0));
        int seen = 0;
        while (pending.Count > 0)
        {
            var (dir, depth) = pending.Pop();
            foreach (var entry in new DirectoryInfo(dir).EnumerateFileSystemInfos())
            {
                cancel.ThrowIfCancellationRequested();
                var relative = Path.GetRelativePath(folder, entry.FullName).Replace(Path.DirectorySeparatorChar, '/');
                if (++seen > 10_000 || depth > 16) return relative;
                if (entry is DirectoryInfo && entry.LinkTarget == null)
                {
                    // A folder is the package's only when a listed file lies inside it.
                    if (!manifest.Files.Keys.Any(f => f.StartsWith(relative + "/", StringComparison.Ordinal))) return relative + "/";
                    pending.Push((entry.FullName, depth + 1));
                    continue;
                }
                if (relative != ModelPackage.ManifestFile && !manifest.Files.ContainsKey(relative)) return relative;
            }
        }
        return null;
    }

    static bool IsLink(string path)
    {
        try { return new FileInfo(path).LinkTarget != null; }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException) { return false; }
    }

    static SeddException Refuse(string message) => new(message, SeddException.Usage);
}
