using System.Diagnostics;
using System.Globalization;
using Sedd.Runtime;
using Sedd.Runtime.IO;
using Sedd.Runtime.Text;

namespace Sedd.Trainer.Data;

/// <summary>
/// <c>sedd-train prepare</c>: reads a corpus, splits it by document (<see cref="DocumentSplitter"/>; the
/// zero-shot <see cref="NlpCorpus"/> goes entirely to test),
/// tokenizes every document, appends one EOS to each (spec §7) and writes <c>train.bin</c>,
/// <c>valid.bin</c>, <c>test.bin</c> and <c>meta.json</c> (<see cref="TokenFileMeta"/>) into the output folder.
/// Files are written under temporary names and renamed only when every split is complete; an old
/// <c>meta.json</c> is removed first, so an interrupted run never leaves a folder that opens with
/// mismatched files, and the temporary files of a prepare that was killed are removed by the next one.
/// A folder holding token files this tool did not write is refused. Exit codes (via <see cref="SeddException"/>): 1 bad tokenizer spec, 2 missing, empty
/// or unreadable corpus, 3 unwritable output or cache folder, npm missing.
/// </summary>
/// <param name="output">Where the summary goes; null for <see cref="Console.Out"/>.</param>
public sealed class PrepareCommand(TextWriter? output = null)
{
    /// <summary>Corpus name written to <c>meta.json</c> for plain-text corpora.</summary>
    public const string TextCorpusName = "text";

    readonly TextWriter _out = output ?? Console.Out;

    /// <summary>Runs the whole preparation and prints a short summary.</summary>
    /// <param name="o">Corpus, output folder, tokenizer and cache.</param>
    /// <param name="cancellationToken">Checked between documents; temporary files are removed on cancel.</param>
    /// <returns>The metadata written to <c>meta.json</c>.</returns>
    /// <exception cref="SeddException">See the class remarks for exit codes.</exception>
    public TokenFileMeta Run(PrepareOptions o, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(o);
        UserFiles.RequirePathArgument(o.Corpus, "--corpus");
        UserFiles.RequirePathArgument(o.Output, "--output");
        var clock = Stopwatch.StartNew();
        var spec = TokenizerSpec.Parse(o.Tokenizer); // a usage error before any slow work

        // Corpus and split rule.
        IReadOnlyList<CorpusDocument> docs;
        string corpusName, source, rule;
        DataSplit[] splits;
        var outDir = CheckOutputFolder(o.Output);
        if (string.Equals(o.Corpus, BrownCorpus.Name, StringComparison.OrdinalIgnoreCase))
        {
            source = BrownCorpus.Locate(o.BrownPath, o.CacheDir, cancellationToken);
            docs = BrownCorpus.Read(source);
            corpusName = BrownCorpus.Name;
            rule = DocumentSplitter.GenreRule;
            splits = DocumentSplitter.ByGenre(Ids(docs), id => BrownCorpus.Genre(id).ToString());
        }
        else if (string.Equals(o.Corpus, NlpCorpus.Name, StringComparison.OrdinalIgnoreCase))
        {
            // Zero-shot only: everything goes to test (NlpCorpus.ZeroShotRule).
            source = NlpCorpus.Locate(null, o.CacheDir, cancellationToken);
            docs = NlpCorpus.Read(source);
            corpusName = NlpCorpus.Name;
            rule = NlpCorpus.ZeroShotRule;
            splits = Enumerable.Repeat(DataSplit.Test, docs.Count).ToArray();
        }
        else
        {
            source = Path.GetFullPath(o.Corpus);
            var text = PlainTextCorpus.ReadCorpus(o.Corpus, cancellationToken);
            docs = text.Documents;
            corpusName = TextCorpusName;
            rule = text.Rule + "; split " + DocumentSplitter.HashRule;
            if (text.Rule != PlainTextCorpus.FolderRule && docs.Count < DocumentSplitter.MinDocuments)
                throw new SeddException($"Corpus file '{o.Corpus}' has {docs.Count} non-blank line(s); a single file is cut into documents at blank lines or line ends, and train, valid and test need at least {DocumentSplitter.MinDocuments}.", SeddException.BadInput);
            splits = DocumentSplitter.ByHash(Ids(docs));
        }

        cancellationToken.ThrowIfCancellationRequested();
        CreateOutputFolder(outDir);
        RemoveStaleTemporaryFiles(outDir);
        var tokenizer = SeddTokenizer.Create(spec);
        var dtype = TokenFileMeta.DtypeFor(tokenizer.VocabSize);
        var bytesPerToken = dtype == "uint16" ? 2 : 4;

        var writers = new List<TokenFileWriter>();
        string? metaTemp = null;
        try
        {
            foreach (var s in DataSplits.All)
                writers.Add(OpenWriter(Path.Combine(outDir, s.FileName()), bytesPerToken));
            for (var i = 0; i < docs.Count; i++)
            {
                cancellationToken.ThrowIfCancellationRequested();
                int[] ids;
                try
                {
                    ids = Encode(tokenizer, docs[i].Text, cancellationToken);
                }
                catch (SeddException e)
                {
                    throw new SeddException($"Document '{docs[i].Id}': {e.Message}", e.ExitCode);
                }
                var writer = writers[(int)splits[i]];
                Guard(() => writer.WriteDocument(ids, tokenizer.EosId), outDir);
            }

            var infos = new Dictionary<string, TokenSplitInfo>(StringComparer.Ordinal);
            foreach (var s in DataSplits.All)
            {
                var w = writers[(int)s];
                Guard(() => w.Close(), outDir);
                infos[s.Name()] = new TokenSplitInfo { File = s.FileName(), Documents = w.Documents, Tokens = w.Tokens, Sha256 = w.Sha256 };
            }
            var meta = new TokenFileMeta
            {
                Tokenizer = spec.ToString(),
                VocabSize = tokenizer.VocabSize,
                EosId = tokenizer.EosId,
                TokenDtype = dtype,
                Corpus = corpusName,
                Source = source,
                SplitRule = rule,
                Splits = infos,
            };

            // Commit: meta.json goes last, so no folder ever pairs it with other .bin files.
            var metaPath = Path.Combine(outDir, TokenFileMeta.FileName);
            metaTemp = TokenFileWriter.TempName(metaPath);
            var json = meta.ToJson();
            Guard(() =>
            {
                File.WriteAllText(metaTemp, json + "\n");
                File.Delete(metaPath);
                foreach (var w in writers)
                    w.Commit();
                File.Move(metaTemp, metaPath, overwrite: true);
            }, outDir);
            PrintSummary(meta, outDir, clock.Elapsed);
            return meta;
        }
        finally
        {
            foreach (var w in writers)
                w.Dispose();
            if (metaTemp is not null && File.Exists(metaTemp))
                File.Delete(metaTemp);
        }
    }

    /// <summary>
    /// Tokenizes one document. A long one (a whole book as one file) takes a while and the tokenizer
    /// cannot be interrupted, so it runs aside while this thread waits for it or for Ctrl+C: cancelling
    /// never waits for the end of a long document (the process then exits, and the work with it).
    /// </summary>
    static int[] Encode(SeddTokenizer tokenizer, string text, CancellationToken cancel)
    {
        if (text.Length < (1 << 20) || !cancel.CanBeCanceled)
            return tokenizer.Encode(text);
        var task = Task.Run(() => tokenizer.Encode(text), CancellationToken.None);
        try
        {
            task.Wait(cancel);
        }
        catch (AggregateException e) when (e.InnerException is not null)
        {
            System.Runtime.ExceptionServices.ExceptionDispatchInfo.Throw(e.InnerException);
        }
        return task.Result;
    }

    static string[] Ids(IReadOnlyList<CorpusDocument> docs)
    {
        var ids = new string[docs.Count];
        for (var i = 0; i < ids.Length; i++)
            ids[i] = docs[i].Id;
        return ids;
    }

    /// <summary>
    /// The output folder, checked before any slow work: it may hold an earlier prepare's files (they are
    /// replaced) but no token files or meta.json that this tool did not write (another tool's train.bin,
    /// say), which would be lost.
    /// </summary>
    static string CheckOutputFolder(string output)
    {
        var full = Path.GetFullPath(output);
        var kind = FileKinds.Of(full);
        if (kind == FileKind.Missing)
            return full;
        if (kind != FileKind.Directory)
            throw new SeddException($"Output '{full}' is {FileKinds.Describe(kind)}; expected a folder for the token files.", SeddException.Environment);
        var ours = FileKinds.Of(Path.Combine(full, TokenFileMeta.FileName)) != FileKind.Missing && IsPrepared(full);
        var foreign = DataSplits.All.Select(s => s.FileName()).Append(TokenFileMeta.FileName).FirstOrDefault(f => FileKinds.Of(Path.Combine(full, f)) != FileKind.Missing);
        if (!ours && foreign is not null)
            throw new SeddException($"Output '{full}' holds {foreign}, which sedd-train prepare did not write (no valid meta.json beside it); it would be replaced: choose another --output.", SeddException.Usage);
        return full;
    }

    /// <summary>Whether the folder's meta.json was written by prepare (any version, even damaged values: it is replaced).</summary>
    static bool IsPrepared(string folder)
    {
        try
        {
            var json = UserFiles.ReadAllText(Path.Combine(folder, TokenFileMeta.FileName), "token metadata", TokenFileMeta.MaxBytes);
            return System.Text.Json.Nodes.JsonNode.Parse(json) is System.Text.Json.Nodes.JsonObject o
                && o["format"] is System.Text.Json.Nodes.JsonValue v && v.TryGetValue(out string? format) && format == TokenFileMeta.FormatName;
        }
        catch (Exception e) when (e is SeddException or System.Text.Json.JsonException)
        {
            return false;
        }
    }

    static void CreateOutputFolder(string full) => Guard(() => Directory.CreateDirectory(full), full);

    /// <summary>
    /// Removes the temporary files of an earlier prepare into this folder that was killed before it could
    /// (their names carry the process id; a file of a process that still runs is left alone).
    /// </summary>
    static void RemoveStaleTemporaryFiles(string folder)
    {
        foreach (var path in Directory.EnumerateFiles(folder, ".*.tmp"))
        {
            if (TokenFileWriter.OwnerOf(Path.GetFileName(path)) is not { } owner || (owner != 0 && IsRunning(owner)))
                continue;
            try { File.Delete(path); }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException) { }
        }
    }

    static bool IsRunning(int pid)
    {
        if (pid == Environment.ProcessId) return true;
        if (OperatingSystem.IsLinux()) return Directory.Exists($"/proc/{pid}");
        try
        {
            using var p = Process.GetProcessById(pid);
            return !p.HasExited;
        }
        catch (ArgumentException) { return false; }
        catch (InvalidOperationException) { return false; }
    }

    TokenFileWriter OpenWriter(string path, int bytesPerToken)
    {
        TokenFileWriter? w = null;
        Guard(() => w = new TokenFileWriter(path, bytesPerToken, CreateFile), Path.GetDirectoryName(path)!);
        return w!;
    }

    /// <summary>Test hook: opens each temporary token file (a full disk is simulated with it).</summary>
    internal Func<string, Stream>? CreateFile { get; init; }

    /// <summary>Turns file-system failures while writing into one user-facing line (exit code 3).</summary>
    static void Guard(Action write, string folder)
    {
        try
        {
            write();
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            var why = e is IOException io && Sedd.Cli.CliHost.IsDiskFull(io) ? "the disk is full; free some space and run prepare again" : e.Message;
            throw new SeddException($"Cannot write token files to '{folder}': {why}", SeddException.Environment);
        }
    }

    void PrintSummary(TokenFileMeta meta, string outDir, TimeSpan elapsed)
    {
        var inv = CultureInfo.InvariantCulture;
        _out.WriteLine(string.Create(inv, $"Prepared {meta.Corpus} with {meta.Tokenizer} (vocab {meta.VocabSize}, EOS {meta.EosId}, {meta.TokenDtype}) in {elapsed.TotalSeconds:F1} s"));
        foreach (var s in DataSplits.All)
        {
            var info = meta.Splits[s.Name()];
            _out.WriteLine(string.Create(inv, $"  {s.Name(),-5}  {info.Documents,7:N0} documents  {info.Tokens,13:N0} tokens  {info.File}"));
        }
        _out.WriteLine($"  from {meta.Source}");
        _out.WriteLine($"  into {outDir}");
    }
}
