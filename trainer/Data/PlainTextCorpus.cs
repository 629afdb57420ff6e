using System.Globalization;
using System.Text.RegularExpressions;
using Sedd.Runtime;
using Sedd.Runtime.IO;

namespace Sedd.Trainer.Data;

/// <summary>The documents of a plain-text corpus and how they were cut out of it.</summary>
/// <param name="Documents">Documents in id order.</param>
/// <param name="Rule">How files became documents, in words (written to meta.json's split rule).</param>
public sealed record PlainText(IReadOnlyList<CorpusDocument> Documents, string Rule);

/// <summary>
/// Plain UTF-8 text. A folder is one document per <c>*.txt</c> file below it (recursive,
/// case-insensitive extension, hidden files and folders skipped), in ordinal order of the id, which is
/// the path relative to the folder with every symbolic link resolved: a file reached twice (through a
/// link, or a link back to a parent folder) is read once. A single file is split into documents at
/// blank lines (its paragraphs), or at line ends when it has fewer than three paragraphs, so train,
/// valid and test can all be non-empty; ids are <c>NAME#k</c>. Documents holding only whitespace are
/// skipped. Text is kept verbatim (line ends included). Only regular files are read: a FIFO or device
/// is refused, never waited on.
/// </summary>
public static partial class PlainTextCorpus
{
    /// <summary>Largest text file read (a .NET string holds at most about 1 G characters).</summary>
    public const long MaxFileBytes = 1L << 30;

    /// <summary>How a folder becomes documents.</summary>
    public const string FolderRule = "documents: one per .txt file, id = its path relative to the folder (links resolved)";

    /// <summary>How a single file becomes documents.</summary>
    public const string ParagraphRule = "documents: the paragraphs of one file (text between blank lines), id = NAME#k";

    /// <summary>How a single file with fewer than three paragraphs becomes documents.</summary>
    public const string LineRule = "documents: the lines of one file (it has fewer than 3 paragraphs), id = NAME#k";

    /// <summary>Reads the documents under <paramref name="path"/> (see <see cref="ReadCorpus"/>).</summary>
    /// <param name="path">A text file or a folder of <c>*.txt</c> files.</param>
    public static IReadOnlyList<CorpusDocument> Read(string path) => ReadCorpus(path).Documents;

    /// <summary>Reads the documents under <paramref name="path"/> and says how they were cut.</summary>
    /// <param name="path">A text file or a folder of <c>*.txt</c> files.</param>
    /// <param name="cancel">Checked between files.</param>
    /// <exception cref="SeddException">Missing path, a FIFO or device, unreadable or non-UTF-8 file, too much text for memory, or no non-empty document (exit code 2).</exception>
    public static PlainText ReadCorpus(string path, CancellationToken cancel = default)
    {
        ArgumentNullException.ThrowIfNull(path);
        var full = Path.GetFullPath(path);
        var kind = FileKinds.Of(full);
        PlainText result;
        if (kind == FileKind.Regular)
        {
            RequireMemory([full], path);
            result = SplitFile(Path.GetFileName(full), ReadUtf8(full, cancel));
        }
        else if (kind == FileKind.Directory)
        {
            var files = ListTextFiles(full, cancel);
            RequireMemory(files.Select(f => f.File), path);
            var docs = new List<CorpusDocument>();
            foreach (var (id, file) in files)
            {
                cancel.ThrowIfCancellationRequested();
                AddIfNotBlank(docs, id, ReadUtf8(file, cancel));
            }
            result = new PlainText(docs, FolderRule);
        }
        else if (kind == FileKind.Missing)
            throw new SeddException($"Corpus '{path}' not found: expected 'brown', 'nlp-corpus', a text file or a folder of *.txt files.", SeddException.BadInput);
        else
            throw new SeddException($"Corpus '{path}' is {FileKinds.Describe(kind)}; expected a text file or a folder of *.txt files.", SeddException.BadInput);
        if (result.Documents.Count == 0)
            throw new SeddException($"Corpus '{path}' is empty: no *.txt file with non-blank text.", SeddException.BadInput);
        return result;
    }

    /// <summary>Reads a regular file as strict UTF-8 (a BOM is dropped); invalid bytes, a FIFO or a device are user errors.</summary>
    /// <param name="file">Path of the file.</param>
    /// <param name="cancel">Checked while reading.</param>
    /// <exception cref="SeddException">Not a regular file, unreadable, too large or not UTF-8 (exit code 2).</exception>
    public static string ReadUtf8(string file, CancellationToken cancel = default) =>
        UserFiles.ReadAllText(file, "corpus file", MaxFileBytes, cancel);

    /// <summary>Cuts one file's text into paragraphs, or lines when it has fewer than three paragraphs.</summary>
    /// <param name="name">File name (the ids' prefix).</param>
    /// <param name="text">The file's text.</param>
    public static PlainText SplitFile(string name, string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        // The separators go; a paragraph keeps its own line ends but not the file's last one.
        var paragraphs = BlankLines().Split(text).Where(p => !string.IsNullOrWhiteSpace(p)).Select(p => p.TrimEnd('\r', '\n')).ToArray();
        var rule = ParagraphRule;
        if (paragraphs.Length < DocumentSplitter.MinDocuments)
        {
            paragraphs = [.. text.Split('\n').Select(l => l.TrimEnd('\r')).Where(l => !string.IsNullOrWhiteSpace(l))];
            rule = LineRule;
        }
        var width = paragraphs.Length.ToString(CultureInfo.InvariantCulture).Length;
        var docs = paragraphs.Select((p, i) => new CorpusDocument(name + "#" + (i + 1).ToString(CultureInfo.InvariantCulture).PadLeft(width, '0'), p)).ToList();
        return new PlainText(docs, rule);
    }

    // One or more lines holding only whitespace, with the line ends around them.
    [GeneratedRegex(@"\r?\n(?:[ \t\f\v]*\r?\n)+")]
    private static partial Regex BlankLines();

    /// <summary>Preparing holds the corpus in memory as UTF-16 text and token ids: about 4 bytes per byte of UTF-8.</summary>
    static void RequireMemory(IEnumerable<string> files, string corpus)
    {
        long total = 0;
        foreach (var f in files) total += new FileInfo(f).Length;
        MemoryBudget.Require(MemoryBudget.Product(total, 4), $"preparing the {total:N0} bytes of text in '{corpus}'",
            "prepare part of the corpus, or on a machine with more memory", SeddException.BadInput);
    }

    /// <summary>Every real *.txt file below <paramref name="root"/>, once each, with its id.</summary>
    static List<(string Id, string File)> ListTextFiles(string root, CancellationToken cancel)
    {
        var realRoot = RealPath.Of(root) ?? root;
        var seenFolders = new HashSet<string>(StringComparer.Ordinal) { realRoot };
        var seenFiles = new HashSet<string>(StringComparer.Ordinal);
        var files = new List<(string Id, string File)>();
        var pending = new Stack<string>();
        pending.Push(root);
        while (pending.Count > 0)
        {
            cancel.ThrowIfCancellationRequested();
            var folder = pending.Pop();
            string[] entries;
            try { entries = Directory.GetFileSystemEntries(folder); }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                throw new SeddException($"Cannot list '{folder}': {e.Message}", SeddException.BadInput);
            }
            Array.Sort(entries, StringComparer.Ordinal);
            foreach (var entry in entries)
            {
                var name = Path.GetFileName(entry);
                if (name.StartsWith('.')) continue; // hidden
                var kind = FileKinds.Of(entry);
                bool isText = name.EndsWith(".txt", StringComparison.OrdinalIgnoreCase);
                if (kind == FileKind.Directory)
                {
                    // A folder reached again (a link to a parent, or two links to one folder) is not walked twice.
                    if (RealPath.Of(entry) is { } real && seenFolders.Add(real)) pending.Push(entry);
                }
                else if (isText && kind == FileKind.Regular)
                {
                    var real = RealPath.Of(entry) ?? Path.GetFullPath(entry);
                    if (seenFiles.Add(real)) files.Add((Path.GetRelativePath(realRoot, real).Replace('\\', '/'), real));
                }
                else if (isText)
                    UserFiles.RequireRegularFile(entry, "corpus file"); // a FIFO, device or link loop named *.txt: one line, never a hang
            }
        }
        files.Sort((a, b) => string.CompareOrdinal(a.Id, b.Id));
        return files;
    }

    static void AddIfNotBlank(List<CorpusDocument> docs, string id, string text)
    {
        if (!string.IsNullOrWhiteSpace(text))
            docs.Add(new CorpusDocument(id, text));
    }
}
