using Sedd.Runtime.IO;
using Sedd.Runtime.Text;

namespace Sedd.Runtime.Package;

/// <summary>
/// A model package folder, opened and verified: the manifest parses, every file it lists exists
/// inside the folder (symbolic links may not lead out) with the recorded SHA-256, nothing else is in the
/// folder, every file the graph reads is listed, and the tokenizer it names agrees with the graph's vocabulary. Checking the ONNX inputs and outputs against the
/// manifest needs a session and happens when one is created.
/// </summary>
public sealed class ModelPackage
{
    /// <summary>File name of the manifest inside the package.</summary>
    public const string ManifestFile = "manifest.json";

    ModelPackage(string folder, ModelManifest manifest)
    {
        Folder = folder;
        Manifest = manifest;
    }

    /// <summary>Absolute package folder.</summary>
    public string Folder { get; }

    /// <summary>The verified manifest.</summary>
    public ModelManifest Manifest { get; }

    /// <summary>Absolute path of the ONNX graph.</summary>
    public string OnnxPath => Path.Combine(Folder, Manifest.Onnx.File);

    /// <summary>Absolute path of a file the manifest lists.</summary>
    /// <param name="relative">Path relative to the package.</param>
    public string PathOf(string relative) => Path.Combine(Folder, relative);

    /// <summary>Largest manifest accepted.</summary>
    public const long MaxManifestBytes = 16L << 20;

    /// <summary>
    /// Opens and verifies a package: the manifest parses (no repeated keys, values in range); every file
    /// it lists is a regular file inside the folder (a symbolic link may stay inside, never lead out or
    /// loop) with the recorded SHA-256; the folder holds no file the manifest does not list; every file
    /// the ONNX graph reads besides itself (external data) is listed, so it is verified too.
    /// </summary>
    /// <param name="folder">Package folder.</param>
    /// <param name="verifyChecksums">Hash every file (default); false only for trusted, already verified folders.</param>
    /// <param name="cancel">Checked while reading and hashing.</param>
    public static ModelPackage Open(string folder, bool verifyChecksums = true, CancellationToken cancel = default)
    {
        ArgumentNullException.ThrowIfNull(folder);
        var kind = FileKinds.Of(folder);
        if (kind != FileKind.Directory)
            throw new SeddException(kind switch
            {
                FileKind.Regular => $"{folder} is a file; a model package is a folder holding {ManifestFile}",
                FileKind.Missing => $"model package {folder} does not exist",
                _ => $"model package {folder} is {FileKinds.Describe(kind)}; expected a folder",
            }, SeddException.BadInput);
        var root = Path.GetFullPath(folder);
        var manifestPath = Path.Combine(root, ManifestFile);
        if (FileKinds.Of(manifestPath) == FileKind.Missing)
            throw new SeddException($"{folder} is not a model package: it has no {ManifestFile}", SeddException.BadInput);
        var manifest = ModelManifest.Parse(UserFiles.ReadAllText(manifestPath, "the manifest", MaxManifestBytes, cancel), manifestPath);
        var realRoot = RealPaths.Resolve(root, "model package");
        RequireOnlyListedFiles(root, realRoot, manifest, folder, cancel);
        foreach (var (relative, expected) in manifest.Files)
        {
            cancel.ThrowIfCancellationRequested();
            var path = RequireListedFile(root, realRoot, relative, folder);
            if (verifyChecksums)
            {
                var actual = PackagePaths.Sha256(path, cancel);
                if (actual != expected)
                    throw new SeddException($"{relative} in {folder} is corrupt or was changed: SHA-256 {actual[..16]}…, the manifest records {expected[..16]}…", SeddException.BadInput);
            }
        }
        RequireListedExternalData(root, manifest, folder, cancel);
        TokenizerSpec spec;
        try { spec = TokenizerSpec.Parse(manifest.Tokenizer); }
        catch (SeddException e) { throw new SeddException($"{manifestPath}: {e.Message}", SeddException.BadInput); }
        if (spec.VocabSize != manifest.Graph.Tokens)
            throw new SeddException($"{manifestPath}: tokenizer {manifest.Tokenizer} has {spec.VocabSize} ids but the graph has {manifest.Graph.Tokens} tokens", SeddException.BadInput);
        return new ModelPackage(root, manifest);
    }

    /// <summary>The tokenizer the manifest names.</summary>
    public SeddTokenizer CreateTokenizer() => SeddTokenizer.Create(Manifest.Tokenizer);

    /// <summary>A listed file's path, once it is known to be a regular file whose real path stays inside the package.</summary>
    static string RequireListedFile(string root, string realRoot, string relative, string folder)
    {
        var path = Path.Combine(root, relative);
        var kind = FileKinds.Of(path);
        if (kind == FileKind.Missing)
            throw new SeddException($"{folder} is incomplete: {relative}, listed in {ManifestFile}, is missing", SeddException.BadInput);
        if (kind == FileKind.LinkLoop)
            throw new SeddException($"{relative} in {folder} is a loop of symbolic links", SeddException.BadInput);
        if (kind != FileKind.Regular)
            throw new SeddException($"{relative} in {folder} is {FileKinds.Describe(kind)}; a package holds regular files", SeddException.BadInput);
        var real = RealPaths.Resolve(path, $"{relative} in");
        if (!RealPaths.IsSameOrInside(real, realRoot) || real == realRoot)
            throw new SeddException($"{relative} in {folder} leads outside the package folder (to {real})", SeddException.BadInput);
        return path;
    }

    /// <summary>
    /// Walks the folder (not following links to folders) and refuses any entry but the manifest that the
    /// manifest does not list: an unlisted file is unverified content, and an unlisted link may lead out.
    /// </summary>
    static void RequireOnlyListedFiles(string root, string realRoot, ModelManifest manifest, string folder, CancellationToken cancel)
    {
        var pending = new Stack<(string Path, int Depth)>();
        pending.Push((root, 0));
        int seen = 0;
        while (pending.Count > 0)
        {
            var (dir, depth) = pending.Pop();
            IEnumerable<FileSystemInfo> entries;
            try { entries = new DirectoryInfo(dir).EnumerateFileSystemInfos().ToList(); }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                throw new SeddException($"cannot list {dir}: {e.Message}", SeddException.BadInput);
            }
            foreach (var entry in entries)
            {
                if (++seen > 10_000) throw new SeddException($"{folder} holds more than 10,000 entries; a package holds a handful of files", SeddException.BadInput);
                cancel.ThrowIfCancellationRequested();
                var relative = Path.GetRelativePath(root, entry.FullName).Replace(Path.DirectorySeparatorChar, '/');
                bool link = entry.LinkTarget != null;
                if (entry is DirectoryInfo && !link)
                {
                    if (depth >= 16) throw new SeddException($"{folder} nests folders more than 16 deep", SeddException.BadInput);
                    pending.Push((entry.FullName, depth + 1));
                    continue;
                }
                if (link)
                {
                    var target = RealPaths.TryResolve(entry.FullName, out var failure);
                    if (failure == FileKind.LinkLoop)
                        throw new SeddException($"{relative} in {folder} is a loop of symbolic links", SeddException.BadInput);
                    if (target != null && !RealPaths.IsSameOrInside(target, realRoot))
                        throw new SeddException($"{relative} in {folder} is a symbolic link that leads outside the package folder (to {target})", SeddException.BadInput);
                }
                if (relative != ManifestFile && !manifest.Files.ContainsKey(relative))
                    throw new SeddException($"{folder} holds {relative}, which {ManifestFile} does not list (an unverified file); remove it or re-export the package", SeddException.BadInput);
            }
        }
    }

    /// <summary>Every external-data file of the ONNX graph must be listed (and so was hashed above).</summary>
    static void RequireListedExternalData(string root, ModelManifest manifest, string folder, CancellationToken cancel)
    {
        var onnx = manifest.Onnx.File;
        var dir = onnx.Contains('/', StringComparison.Ordinal) ? onnx[..(onnx.LastIndexOf('/') + 1)] : "";
        foreach (var location in Onnx.OnnxExternalData.Locations(Path.Combine(root, onnx), cancel))
        {
            PackagePaths.RequireInside(location, $"{onnx} in {folder}");
            var relative = dir + location;
            if (!manifest.Files.ContainsKey(relative))
                throw new SeddException($"{onnx} in {folder} reads external data from {relative}, which {ManifestFile} does not list (an unverified file)", SeddException.BadInput);
        }
    }
}
