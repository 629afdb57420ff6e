using Sedd.Runtime.Text;

namespace Sedd.Runtime.Package;

/// <summary>
/// A model package folder, opened and verified: the manifest parses, every file it lists exists
/// inside the folder (symbolic links may not lead out) with the recorded SHA-256, and the tokenizer
/// it names agrees with the graph's vocabulary. Checking the ONNX inputs and outputs against the
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

    /// <summary>Opens and verifies a package.</summary>
    /// <param name="folder">Package folder.</param>
    /// <param name="verifyChecksums">Hash every file (default); false only for trusted, already verified folders.</param>
    public static ModelPackage Open(string folder, bool verifyChecksums = true)
    {
        ArgumentNullException.ThrowIfNull(folder);
        if (!Directory.Exists(folder))
            throw new SeddException(File.Exists(folder) ? $"{folder} is a file; a model package is a folder holding {ManifestFile}" : $"model package {folder} does not exist", SeddException.BadInput);
        var root = Path.GetFullPath(folder);
        var manifestPath = Path.Combine(root, ManifestFile);
        if (!File.Exists(manifestPath))
            throw new SeddException($"{folder} is not a model package: it has no {ManifestFile}", SeddException.BadInput);
        var manifest = ModelManifest.Parse(ReadText(manifestPath), manifestPath);
        var realRoot = RealPath(root);
        foreach (var (relative, expected) in manifest.Files)
        {
            var path = Path.Combine(root, relative);
            if (!File.Exists(path))
                throw new SeddException($"{folder} is incomplete: {relative}, listed in {ManifestFile}, is missing", SeddException.BadInput);
            var real = RealPath(path);
            if (!real.StartsWith(realRoot + Path.DirectorySeparatorChar, StringComparison.Ordinal))
                throw new SeddException($"{relative} in {folder} leads outside the package folder (to {real})", SeddException.BadInput);
            if (verifyChecksums)
            {
                var actual = PackagePaths.Sha256(path);
                if (actual != expected)
                    throw new SeddException($"{relative} in {folder} is corrupt or was changed: SHA-256 {actual[..16]}…, the manifest records {expected[..16]}…", SeddException.BadInput);
            }
        }
        TokenizerSpec spec;
        try { spec = TokenizerSpec.Parse(manifest.Tokenizer); }
        catch (SeddException e) { throw new SeddException($"{manifestPath}: {e.Message}", SeddException.BadInput); }
        if (spec.VocabSize != manifest.Graph.Tokens)
            throw new SeddException($"{manifestPath}: tokenizer {manifest.Tokenizer} has {spec.VocabSize} ids but the graph has {manifest.Graph.Tokens} tokens", SeddException.BadInput);
        return new ModelPackage(root, manifest);
    }

    /// <summary>The tokenizer the manifest names.</summary>
    public SeddTokenizer CreateTokenizer() => SeddTokenizer.Create(Manifest.Tokenizer);

    static string ReadText(string path)
    {
        try { return File.ReadAllText(path); }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new SeddException($"cannot read {path}: {e.Message}", SeddException.BadInput);
        }
    }

    static string RealPath(string path)
    {
        // Resolve every symbolic link on the way; a link inside the package may still point outside it.
        var full = Path.GetFullPath(path);
        var parts = new Stack<string>();
        var current = full;
        while (current != null)
        {
            var info = new FileInfo(current);
            if (info.LinkTarget != null)
            {
                var target = info.ResolveLinkTarget(returnFinalTarget: true);
                if (target != null) { current = target.FullName; continue; }
            }
            var dir = new DirectoryInfo(current);
            if (dir.LinkTarget != null)
            {
                var target = dir.ResolveLinkTarget(returnFinalTarget: true);
                if (target != null) { current = target.FullName; continue; }
            }
            var parent = Path.GetDirectoryName(current);
            if (parent == null) { parts.Push(current); break; }
            parts.Push(Path.GetFileName(current));
            current = parent;
        }
        return Path.Combine([.. parts]);
    }
}
