using System.Globalization;
using Sedd.Runtime;
using Sedd.Runtime.Text;
using Sedd.Trainer.Data;

namespace Sedd.Trainer.Tests.Data;

/// <summary>The nlp-corpus zero-shot reader and its <c>prepare --corpus nlp-corpus</c> path.</summary>
public class NlpCorpusTest
{
    /// <summary>Three files in the package's format (JSON arrays of sentences), named so ordinal and numeric order differ.</summary>
    static string[][] WriteFixture(TempFolder t, string folder)
    {
        string[][] files =
        [
            ["It wasn't worth it.", "Caf\u00e9 \u00fcber na\u00efve \u65e5\u672c\u8a9e \U0001F600, \"quoted\" \\ back.", "   "],
            ["At its 53rd meeting, on 6 December, the Committee had before it a draft (A/C.3/48/L.62/Rev.1)."],
            ["lol u coming 2nite?", "", "Line one\nline two."],
        ];
        int[] numbers = [0, 2, 10];
        for (var i = 0; i < files.Length; i++)
            t.Write(string.Create(CultureInfo.InvariantCulture, $"{folder}/doc-{numbers[i]}.json"), System.Text.Json.JsonSerializer.Serialize(files[i]));
        t.Write($"{folder}/index.js", "export default {}");
        t.Write($"{folder}/package.json", "{\"name\": \"nlp-corpus\"}");
        return files;
    }

    [Fact]
    public void NlpCorpusTest_ParseFile()
    {
        var sentences = NlpCorpus.ParseFile("[\"A b.\", \"\\u00e9 \\\"x\\\"\", \"\"]", "f.json");
        Assert.Equal(["A b.", "\u00e9 \"x\"", ""], sentences);
        foreach (var bad in new[] { "{\"a\": 1}", "[\"ok\", 3]", "[\"unterminated", "[null]" })
        {
            var e = Assert.Throws<SeddException>(() => NlpCorpus.ParseFile(bad, "bad.json"));
            Assert.Equal(SeddException.BadInput, e.ExitCode);
            Assert.Contains("bad.json", e.Message, StringComparison.Ordinal);
        }
    }

    /// <summary>Files in numeric order (doc-10 after doc-2), sentences in file order, blank ones skipped, other files ignored.</summary>
    [Fact]
    public void NlpCorpusTest_Read()
    {
        using var t = new TempFolder();
        var files = WriteFixture(t, "pkg");
        var docs = NlpCorpus.Read(NlpCorpus.Locate(t.Combine("pkg"), t.Combine("cache")));
        var expected = files.SelectMany(f => f).Where(s => !string.IsNullOrWhiteSpace(s)).ToList();
        Assert.Equal(expected, docs.Select(d => d.Text));
        Assert.Equal(["doc-0/0", "doc-0/1", "doc-2/0", "doc-10/0", "doc-10/2"], docs.Select(d => d.Id));
        Assert.True(NlpCorpus.IsDocumentFile("doc-99.json"));
        Assert.False(NlpCorpus.IsDocumentFile("doc-.json"));
        Assert.False(NlpCorpus.IsDocumentFile("index.js"));

        t.Write("empty/readme.txt", "no sentences here");
        Assert.Equal(SeddException.BadInput, Assert.Throws<SeddException>(() => NlpCorpus.Locate(t.Combine("empty"), t.Combine("cache"))).ExitCode);
        Assert.Equal(SeddException.BadInput, Assert.Throws<SeddException>(() => NlpCorpus.Read(t.Combine("empty"))).ExitCode);
    }

    /// <summary>
    /// <c>prepare --corpus nlp-corpus</c> with the package already in the cache (npm never runs): every sentence is
    /// one EOS-terminated test document, train and valid are empty, and the test split round-trips through
    /// <see cref="TokenDataset"/> to the sentences.
    /// </summary>
    [Fact]
    public void NlpCorpusTest_PrepareZeroShotDataset()
    {
        using var t = new TempFolder();
        var files = WriteFixture(t, "cache/" + NlpCorpus.Package.CacheFolderName);
        var log = new StringWriter();
        var meta = new PrepareCommand(log).Run(new PrepareOptions { Corpus = "nlp-corpus", Output = t.Combine("out"), Tokenizer = "gpt2-512", CacheDir = t.Combine("cache") });
        var sentences = files.SelectMany(f => f).Where(s => !string.IsNullOrWhiteSpace(s)).ToList();

        Assert.Equal(NlpCorpus.Name, meta.Corpus);
        Assert.Equal(NlpCorpus.ZeroShotRule, meta.SplitRule);
        Assert.Equal(t.Combine("cache", NlpCorpus.Package.CacheFolderName), meta.Source);
        Assert.Equal("gpt2-512", meta.Tokenizer);
        Assert.Equal(0, meta.Splits["train"].Documents);
        Assert.Equal(0, meta.Splits["valid"].Tokens);
        Assert.Equal(sentences.Count, meta.Splits["test"].Documents);

        var tok = SeddTokenizer.Create("gpt2-512");
        using var test = TokenDataset.Open(t.Combine("out"), DataSplit.Test);
        var all = new long[test.TokenCount];
        test.ReadBlock(0, all.Length, all);
        Assert.Equal(sentences.SelectMany(s => tok.Encode(s).Append(tok.EosId)).Select(x => (long)x), all);
        Assert.Equal(string.Concat(sentences.Select(s => s + SeddTokenizer.EosText)), tok.Decode(all.Select(x => (int)x).ToArray()));

        // The empty training split opens but refuses to give blocks, with a clear message.
        using var train = TokenDataset.Open(t.Combine("out"), DataSplit.Train);
        Assert.Equal(0, train.TokenCount);
        Assert.Contains("fewer than one block", Assert.Throws<SeddException>(() => train.BlockCount(16)).Message, StringComparison.Ordinal);
    }
}
