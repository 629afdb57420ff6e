using System.Globalization;
using Sedd.Runtime;
using Sedd.Runtime.Text;
using Sedd.Trainer.Data;

namespace Sedd.Trainer.Tests.Data;

public class PrepareCommandTest
{
    /// <summary>Eight documents (one nested, one with CRLF and non-ASCII), plus files prepare must skip.</summary>
    internal static void WriteTextCorpus(TempFolder t)
    {
        for (var i = 0; i < 6; i++)
            t.Write(string.Create(CultureInfo.InvariantCulture, $"corpus/doc{i}.txt"),
                string.Create(CultureInfo.InvariantCulture, $"Document {i} says hello to the small world, {i * 7} times over.\nSecond line {i}."));
        t.Write("corpus/nested/deeper/b.TXT", "Caf\u00e9 \u00fcber na\u00efve \u65e5\u672c\u8a9e \U0001F600 text.\r\nWith <|endoftext|> inside.");
        t.Write("corpus/nested/a.txt", "  Leading spaces and\ttabs.\n\n\nParagraphs.  ");
        t.Write("corpus/empty.txt", "");
        t.Write("corpus/blank.txt", " \n\t\n");
        t.Write("corpus/notes.md", "not a txt file");
    }

    static PrepareOptions Options(TempFolder t, string tokenizer = "gpt2-512") => new()
    {
        Corpus = t.Combine("corpus"),
        Output = t.Combine("out"),
        Tokenizer = tokenizer,
        CacheDir = t.Combine("cache"),
    };

    static TokenFileMeta Prepare(PrepareOptions o, StringWriter? log = null) => new PrepareCommand(log ?? new StringWriter()).Run(o);

    [Fact]
    public void PrepareCommandTest_TextRoundTrip()
    {
        using var t = new TempFolder();
        WriteTextCorpus(t);
        var log = new StringWriter();
        var meta = Prepare(Options(t), log);

        var docs = PlainTextCorpus.Read(t.Combine("corpus"));
        Assert.Equal(8, docs.Count); // empty, blank and .md skipped
        Assert.Equal(docs.Select(d => d.Id).Order(StringComparer.Ordinal), docs.Select(d => d.Id));
        var splits = DocumentSplitter.ByHash(docs.Select(d => d.Id).ToList());
        var tok = SeddTokenizer.Create("gpt2-512");

        Assert.Equal("gpt2-512", meta.Tokenizer);
        Assert.Equal(513, meta.VocabSize);
        Assert.Equal(512, meta.EosId);
        Assert.Equal("uint16", meta.TokenDtype);
        Assert.Equal(PrepareCommand.TextCorpusName, meta.Corpus);
        Assert.Equal(PlainTextCorpus.FolderRule + "; split " + DocumentSplitter.HashRule, meta.SplitRule);
        Assert.Equal(
            ["meta.json", "test.bin", "train.bin", "valid.bin"],
            Directory.GetFiles(t.Combine("out")).Select(Path.GetFileName).Order(StringComparer.Ordinal));
        Assert.Contains("train", log.ToString(), StringComparison.Ordinal);

        foreach (var split in DataSplits.All)
        {
            var mine = docs.Where((d, i) => splits[i] == split).ToList();
            Assert.NotEmpty(mine);
            var expected = mine.SelectMany(d => tok.Encode(d.Text).Append(tok.EosId)).Select(x => (long)x).ToArray();
            Assert.Equal(mine.Count, meta.Splits[split.Name()].Documents);

            using var data = TokenDataset.Open(t.Combine("out"), split);
            Assert.Equal(expected.Length, data.TokenCount);
            Assert.Equal(mine.Count, data.DocumentCount);
            // The stream decodes to the documents, each followed by the EOS marker.
            var all = new long[data.TokenCount];
            data.ReadBlock(0, all.Length, all);
            Assert.Equal(string.Concat(mine.Select(d => d.Text + SeddTokenizer.EosText)), tok.Decode(all.Select(x => (int)x).ToArray()));
            Assert.Equal(mine.Count, all.Count(x => x == tok.EosId));

            foreach (var length in new[] { 1, 3, 8 })
            {
                var count = data.BlockCount(length);
                Assert.Equal(expected.Length / length, count); // remainder dropped
                var block = new long[length];
                for (var b = 0; b < count; b++)
                {
                    data.ReadBlock(b, length, block);
                    Assert.Equal(expected.AsSpan(b * length, length).ToArray(), block);
                }
                Assert.Throws<ArgumentOutOfRangeException>(() => data.ReadBlock(count, length, block));
            }
        }
    }

    [Fact]
    public void PrepareCommandTest_IsDeterministicAndOverwrites()
    {
        using var t = new TempFolder();
        WriteTextCorpus(t);
        var first = Prepare(Options(t));
        var second = Prepare(Options(t));
        foreach (var s in DataSplits.All)
            Assert.Equal(first.Splits[s.Name()], second.Splits[s.Name()]);
        Assert.Equal(4, Directory.GetFiles(t.Combine("out")).Length);
        using var data = TokenDataset.Open(t.Combine("out"), DataSplit.Train);
        Assert.Equal(first.Splits["train"].Tokens, data.TokenCount);
    }

    [Fact]
    public void PrepareCommandTest_SingleFileIsSplitIntoParagraphs()
    {
        using var t = new TempFolder();
        // Twenty paragraphs separated by blank lines (one of them with CRLF and spaces): twenty documents.
        var paragraphs = Enumerable.Range(1, 20).Select(i => string.Create(CultureInfo.InvariantCulture, $"Paragraph {i} has a first line\nand a second line {i}.")).ToArray();
        var file = t.Write("book.txt", "\n\n" + string.Join("\n\n", paragraphs[..10]) + "\r\n \r\n\n" + string.Join("\n\n\n", paragraphs[10..]) + "\n");
        var meta = Prepare(new PrepareOptions { Corpus = file, Output = t.Combine("out"), Tokenizer = "gpt2-512" });
        Assert.Equal(20, meta.Splits.Values.Sum(s => s.Documents));
        Assert.All(meta.Splits.Values, s => Assert.True(s.Documents > 0, "every split needs a document"));
        Assert.StartsWith(PlainTextCorpus.ParagraphRule, meta.SplitRule, StringComparison.Ordinal);

        var docs = PlainTextCorpus.ReadCorpus(file).Documents;
        Assert.Equal(paragraphs, docs.Select(d => d.Text));
        Assert.Equal("book.txt#01", docs[0].Id);
        // The documents together decode to the paragraphs, each followed by EOS, in split order.
        var tok = SeddTokenizer.Create("gpt2-512");
        var decoded = string.Concat(DataSplits.All.Select(split =>
        {
            using var data = TokenDataset.Open(t.Combine("out"), split);
            var all = new long[data.TokenCount];
            data.ReadBlock(0, all.Length, all);
            return tok.Decode(all.Select(x => (int)x).ToArray());
        }));
        Assert.Equal(20, decoded.Split(SeddTokenizer.EosText).Length - 1);
    }

    [Fact]
    public void PrepareCommandTest_SingleFileWithFewParagraphsIsSplitIntoLines()
    {
        using var t = new TempFolder();
        var file = t.Write("poem.txt", "line one\nline two\nline three\nline four\n");
        var meta = Prepare(new PrepareOptions { Corpus = file, Output = t.Combine("out"), Tokenizer = "gpt2-512" });
        Assert.Equal(4, meta.Splits.Values.Sum(s => s.Documents));
        Assert.StartsWith(PlainTextCorpus.LineRule, meta.SplitRule, StringComparison.Ordinal);

        // Fewer than three lines cannot make three splits: refused, saying why.
        var tiny = t.Write("one.txt", "only one document");
        var e = Assert.Throws<SeddException>(() => Prepare(new PrepareOptions { Corpus = tiny, Output = t.Combine("out2") }));
        Assert.Equal(SeddException.BadInput, e.ExitCode);
        Assert.Contains("at least 3", e.Message, StringComparison.Ordinal);
        Assert.Contains("blank lines", e.Message, StringComparison.Ordinal);
        AssertNoFiles(t.Combine("out2"));
    }

    [Fact]
    public void PrepareCommandTest_TemporaryFilesOfAKilledPrepareAreRemoved()
    {
        using var t = new TempFolder();
        WriteTextCorpus(t);
        Directory.CreateDirectory(t.Combine("out"));
        // Left by a prepare that was killed (a process id that is not running), and by an older version.
        var dead = t.Write("out/.train.bin.999999999-0123456789abcdef0123456789abcdef.tmp", "partial");
        var old = t.Write("out/.meta.json.0123456789abcdef0123456789abcdef.tmp", "partial");
        // One of a prepare that still runs (this process), and files that are not ours at all.
        var live = t.Write(string.Create(CultureInfo.InvariantCulture, $"out/.valid.bin.{Environment.ProcessId}-0123456789abcdef0123456789abcdef.tmp"), "in use");
        var foreign = t.Write("out/.notes.tmp", "mine");
        var other = t.Write("out/.train.bin.999999999-xyz.tmp", "not our pattern");
        Prepare(Options(t));
        Assert.False(File.Exists(dead));
        Assert.False(File.Exists(old));
        Assert.True(File.Exists(live) && File.Exists(foreign) && File.Exists(other));
    }

    [Fact]
    public void PrepareCommandTest_TokenFilesItDidNotWriteAreNeverReplaced()
    {
        using var t = new TempFolder();
        WriteTextCorpus(t);
        // Another tool's data folder: train.bin but no meta.json of ours.
        var bin = t.Write("out/train.bin", "nanoGPT tokens");
        var e = Assert.Throws<SeddException>(() => Prepare(Options(t)));
        Assert.Equal(SeddException.Usage, e.ExitCode);
        Assert.Contains("train.bin", e.Message, StringComparison.Ordinal);
        Assert.Equal("nanoGPT tokens", File.ReadAllText(bin));
        File.Delete(bin);
        var meta = t.Write("out/meta.json", "{\"vocab_size\": 65}");
        Assert.Throws<SeddException>(() => Prepare(Options(t)));
        Assert.Equal("{\"vocab_size\": 65}", File.ReadAllText(meta));

        // An earlier prepare's folder, even of another format version, is prepare's own to replace.
        File.WriteAllText(meta, "{\"format\": \"sedd-tokens\", \"formatVersion\": 0}");
        t.Write("out/train.bin", "old tokens");
        Assert.Equal(PrepareCommand.TextCorpusName, Prepare(Options(t)).Corpus);
    }

    [Fact]
    public void PrepareCommandTest_SymbolicLinkLoopsReadEachFileOnce()
    {
        if (OperatingSystem.IsWindows()) return;
        using var t = new TempFolder();
        WriteTextCorpus(t);
        // A link back to the corpus itself, and a second link to one file.
        Directory.CreateSymbolicLink(t.Combine("corpus", "nested", "loop"), t.Combine("corpus"));
        File.CreateSymbolicLink(t.Combine("corpus", "again.txt"), t.Combine("corpus", "doc0.txt"));
        var docs = PlainTextCorpus.Read(t.Combine("corpus"));
        Assert.Equal(8, docs.Count);
        Assert.Equal(docs.Count, docs.Select(d => d.Text).Distinct().Count());
        Assert.Contains("doc0.txt", docs.Select(d => d.Id));
        Assert.DoesNotContain("again.txt", docs.Select(d => d.Id));
    }

    [Fact]
    public async Task PrepareCommandTest_AFifoInTheCorpusIsRefusedWithoutBlocking()
    {
        if (!OperatingSystem.IsLinux()) return;
        using var t = new TempFolder();
        WriteTextCorpus(t);
        Assert.Equal(0, Sedd.Tests.Shared.ToolProcess.RunExecutable("mkfifo", t.Combine("corpus", "pipe.txt")).Code);
        var e = await Within.Seconds(30, "prepare of a corpus folder with a FIFO", () => Assert.Throws<SeddException>(() => Prepare(Options(t))));
        Assert.Equal(SeddException.BadInput, e.ExitCode);
        Assert.Contains("pipe.txt", e.Message, StringComparison.Ordinal);
        Assert.Contains("FIFO", e.Message, StringComparison.Ordinal);
        AssertNoFiles(t.Combine("out"));

        e = await Within.Seconds(30, "prepare of a FIFO", () => Assert.Throws<SeddException>(() => Prepare(Options(t) with { Corpus = t.Combine("corpus", "pipe.txt") })));
        Assert.Equal(SeddException.BadInput, e.ExitCode);
    }

    [Fact]
    public void PrepareCommandTest_AFullDiskLeavesNothingHalfWritten()
    {
        using var t = new TempFolder();
        WriteTextCorpus(t);
        var before = Prepare(Options(t));
        var stamp = Directory.GetFiles(t.Combine("out")).ToDictionary(f => f, File.ReadAllBytes);
        t.Write("corpus/more.txt", "A document that would change the train split.");
        var full = new PrepareCommand(new StringWriter()) { CreateFile = path => new FullDiskFile(path) };
        var e = Assert.Throws<SeddException>(() => full.Run(Options(t)));
        Assert.Equal(SeddException.Environment, e.ExitCode);
        Assert.Contains("disk is full", e.Message, StringComparison.Ordinal);
        // No temporary files, the earlier files byte-identical.
        Assert.Equal(stamp.Keys.Order(StringComparer.Ordinal), Directory.GetFiles(t.Combine("out")).Order(StringComparer.Ordinal));
        foreach (var (file, bytes) in stamp)
            Assert.Equal(bytes, File.ReadAllBytes(file));
        using var data = TokenDataset.Open(t.Combine("out"), DataSplit.Train);
        Assert.Equal(before.Splits["train"].Tokens, data.TokenCount);
    }

    /// <summary>A real temporary file whose writes fail as on a full disk (ENOSPC).</summary>
    sealed class FullDiskFile(string path) : FileStream(path, FileMode.CreateNew)
    {
        public override void Write(byte[] buffer, int offset, int count) => throw new IOException("No space left on device", 28);

        public override void Write(ReadOnlySpan<byte> buffer) => throw new IOException("No space left on device", 28);
    }

    [Fact]
    public void PrepareCommandTest_BrownFromFolder()
    {
        using var t = new TempFolder();
        BrownCorpusTest.WriteSample(t, "brown");
        var meta = Prepare(new PrepareOptions
        {
            Corpus = "brown",
            BrownPath = t.Combine("brown"),
            Output = t.Combine("out"),
            CacheDir = t.Combine("cache"),
            Tokenizer = "gpt2",
        });
        Assert.Equal(BrownCorpus.Name, meta.Corpus);
        Assert.Equal(DocumentSplitter.GenreRule, meta.SplitRule);
        Assert.Equal(50257, meta.VocabSize);
        Assert.Equal("uint16", meta.TokenDtype);
        Assert.Equal(BrownCorpusTest.SampleCount, meta.Splits.Values.Sum(s => s.Documents));
        Assert.False(Directory.Exists(t.Combine("cache")), "a given Brown folder must not touch the cache");
        using var data = TokenDataset.Open(t.Combine("out"), DataSplit.Valid);
        var all = new long[data.TokenCount];
        data.ReadBlock(0, all.Length, all);
        var text = SeddTokenizer.Create("gpt2").Decode(all.Select(x => (int)x).ToArray());
        Assert.EndsWith(".<|endoftext|>", text, StringComparison.Ordinal);
        Assert.DoesNotContain("/", text, StringComparison.Ordinal); // tags are gone
    }

    // ---- bad inputs: right exit code, no half-written files ----

    static void AssertNoFiles(string folder)
    {
        if (Directory.Exists(folder))
            Assert.Empty(Directory.GetFiles(folder, "*", SearchOption.AllDirectories));
    }

    [Fact]
    public void PrepareCommandTest_MissingCorpus()
    {
        using var t = new TempFolder();
        var e = Assert.Throws<SeddException>(() => Prepare(Options(t)));
        Assert.Equal(SeddException.BadInput, e.ExitCode);
        Assert.Contains("not found", e.Message, StringComparison.Ordinal);
        AssertNoFiles(t.Combine("out"));
    }

    [Fact]
    public void PrepareCommandTest_EmptyCorpus()
    {
        using var t = new TempFolder();
        t.Write("corpus/empty.txt", "");
        t.Write("corpus/sub/blank.txt", "\n \n");
        var e = Assert.Throws<SeddException>(() => Prepare(Options(t)));
        Assert.Equal(SeddException.BadInput, e.ExitCode);
        Assert.Contains("empty", e.Message, StringComparison.Ordinal);
        AssertNoFiles(t.Combine("out"));
    }

    [Fact]
    public void PrepareCommandTest_InvalidUtf8()
    {
        using var t = new TempFolder();
        WriteTextCorpus(t);
        File.WriteAllBytes(t.Combine("corpus", "bad.txt"), [0x41, 0xC3, 0x28, 0x42]);
        var e = Assert.Throws<SeddException>(() => Prepare(Options(t)));
        Assert.Equal(SeddException.BadInput, e.ExitCode);
        Assert.Contains("bad.txt", e.Message, StringComparison.Ordinal);
        AssertNoFiles(t.Combine("out"));
    }

    [Theory]
    [InlineData("bert")]
    [InlineData("gpt2-100")]
    [InlineData("gpt2-70000")]
    public void PrepareCommandTest_UnknownTokenizer(string tokenizer)
    {
        using var t = new TempFolder();
        WriteTextCorpus(t);
        var e = Assert.Throws<SeddException>(() => Prepare(Options(t, tokenizer)));
        Assert.Equal(SeddException.Usage, e.ExitCode);
        AssertNoFiles(t.Combine("out"));
    }

    [Fact]
    public void PrepareCommandTest_OutputUnderRegularFile()
    {
        using var t = new TempFolder();
        WriteTextCorpus(t);
        var blocker = t.Write("blocker", "a file, not a folder");
        var e = Assert.Throws<SeddException>(() => Prepare(Options(t) with { Output = Path.Combine(blocker, "out") }));
        Assert.Equal(SeddException.Environment, e.ExitCode);
        Assert.Equal("a file, not a folder", File.ReadAllText(blocker));

        e = Assert.Throws<SeddException>(() => Prepare(Options(t) with { Output = blocker }));
        Assert.Equal(SeddException.Environment, e.ExitCode);
        Assert.Equal("a file, not a folder", File.ReadAllText(blocker));
    }

    [Fact]
    public void PrepareCommandTest_CancelledRunLeavesOldFilesIntact()
    {
        using var t = new TempFolder();
        WriteTextCorpus(t);
        var before = Prepare(Options(t));
        var stamp = Directory.GetFiles(t.Combine("out")).ToDictionary(f => f, File.ReadAllBytes);

        t.Write("corpus/more.txt", "A document that would change the train split.");
        using var cts = new CancellationTokenSource();
        cts.Cancel();
        Assert.ThrowsAny<OperationCanceledException>(() => new PrepareCommand(new StringWriter()).Run(Options(t), cts.Token));

        // No temporary files, old files byte-identical and still consistent.
        Assert.Equal(stamp.Keys.Order(StringComparer.Ordinal), Directory.GetFiles(t.Combine("out")).Order(StringComparer.Ordinal));
        foreach (var (file, bytes) in stamp)
            Assert.Equal(bytes, File.ReadAllBytes(file));
        using var data = TokenDataset.Open(t.Combine("out"), DataSplit.Train);
        Assert.Equal(before.Splits["train"].Tokens, data.TokenCount);
    }
}
