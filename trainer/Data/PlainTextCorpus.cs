using System.Text;
using Sedd.Runtime;

namespace Sedd.Trainer.Data;

/// <summary>
/// Plain UTF-8 text: a file is one document; a folder is every <c>*.txt</c> file below it (recursive,
/// case-insensitive extension, hidden files skipped), in ordinal order of the relative path.
/// Documents holding only whitespace are skipped. Text is kept verbatim (line ends included).
/// </summary>
public static class PlainTextCorpus
{
    static readonly UTF8Encoding s_strictUtf8 = new(encoderShouldEmitUTF8Identifier: false, throwOnInvalidBytes: true);

    /// <summary>Reads the documents under <paramref name="path"/>.</summary>
    /// <param name="path">A text file or a folder of <c>*.txt</c> files.</param>
    /// <returns>Documents with ids = file name (single file) or relative path with '/' separators (folder).</returns>
    /// <exception cref="SeddException">Missing path, unreadable or non-UTF-8 file, or no non-empty document (exit code 2).</exception>
    public static IReadOnlyList<CorpusDocument> Read(string path)
    {
        ArgumentNullException.ThrowIfNull(path);
        var full = Path.GetFullPath(path);
        var docs = new List<CorpusDocument>();
        if (File.Exists(full))
        {
            AddIfNotBlank(docs, Path.GetFileName(full), ReadUtf8(full));
        }
        else if (Directory.Exists(full))
        {
            foreach (var (id, file) in ListTextFiles(full))
                AddIfNotBlank(docs, id, ReadUtf8(file));
        }
        else
        {
            throw new SeddException($"Corpus '{path}' not found: expected 'brown', a text file or a folder of *.txt files.", SeddException.BadInput);
        }
        if (docs.Count == 0)
            throw new SeddException($"Corpus '{path}' is empty: no *.txt file with non-blank text.", SeddException.BadInput);
        return docs;
    }

    /// <summary>Reads a file as strict UTF-8 (a BOM is dropped); invalid bytes are a user error.</summary>
    /// <param name="file">Path of the file.</param>
    /// <exception cref="SeddException">Unreadable or not UTF-8 (exit code 2).</exception>
    public static string ReadUtf8(string file)
    {
        try
        {
            return File.ReadAllText(file, s_strictUtf8);
        }
        catch (DecoderFallbackException e)
        {
            throw new SeddException($"'{file}' is not valid UTF-8 ({e.Message}).", SeddException.BadInput);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new SeddException($"Cannot read '{file}': {e.Message}", SeddException.BadInput);
        }
    }

    static List<(string Id, string File)> ListTextFiles(string folder)
    {
        var options = new EnumerationOptions
        {
            RecurseSubdirectories = true,
            MatchCasing = MatchCasing.CaseInsensitive,
            MatchType = MatchType.Simple,
            IgnoreInaccessible = false, // an unreadable folder is an error, not silently less data
        };
        try
        {
            var files = new List<(string Id, string File)>();
            foreach (var f in Directory.EnumerateFiles(folder, "*.txt", options))
                files.Add((Path.GetRelativePath(folder, f).Replace('\\', '/'), f));
            files.Sort((a, b) => string.CompareOrdinal(a.Id, b.Id));
            return files;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new SeddException($"Cannot list '{folder}': {e.Message}", SeddException.BadInput);
        }
    }

    static void AddIfNotBlank(List<CorpusDocument> docs, string id, string text)
    {
        if (!string.IsNullOrWhiteSpace(text))
            docs.Add(new CorpusDocument(id, text));
    }
}
