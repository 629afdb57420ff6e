using System.Buffers.Binary;
using System.Text.Json.Nodes;
using Sedd.Runtime;
using Sedd.Trainer.Data;

namespace Sedd.Trainer.Tests.Data;

public class TokenDatasetTest
{
    static string Prepared(TempFolder t)
    {
        PrepareCommandTest.WriteTextCorpus(t);
        new PrepareCommand(new StringWriter()).Run(new PrepareOptions
        {
            Corpus = t.Combine("corpus"),
            Output = t.Combine("out"),
            Tokenizer = "gpt2-512",
        });
        return t.Combine("out");
    }

    [Fact]
    public void TokenDatasetTest_BlockLengthTooLong()
    {
        using var t = new TempFolder();
        var folder = Prepared(t);
        using var data = TokenDataset.Open(folder, DataSplit.Valid);
        Assert.Equal(1, data.BlockCount((int)data.TokenCount));
        var e = Assert.Throws<SeddException>(() => data.BlockCount((int)data.TokenCount + 1));
        Assert.Equal(SeddException.BadInput, e.ExitCode);
        Assert.Contains("valid", e.Message, StringComparison.Ordinal);
        e = Assert.Throws<SeddException>(() => data.ReadBlock(0, (int)data.TokenCount + 1, new long[data.TokenCount + 1]));
        Assert.Equal(SeddException.BadInput, e.ExitCode);
        e = Assert.Throws<SeddException>(() => data.BlockCount(0));
        Assert.Equal(SeddException.Usage, e.ExitCode);
    }

    [Fact]
    public void TokenDatasetTest_DetectsDamage()
    {
        using var t = new TempFolder();
        var folder = Prepared(t);
        var bin = Path.Combine(folder, "test.bin");
        var bytes = File.ReadAllBytes(bin);

        bytes[1] ^= 0x01; // same size, other content
        File.WriteAllBytes(bin, bytes);
        var e = Assert.Throws<SeddException>(() => TokenDataset.Open(folder, DataSplit.Test));
        Assert.Equal(SeddException.BadInput, e.ExitCode);
        Assert.Contains("SHA-256", e.Message, StringComparison.Ordinal);
        using (var unchecked_ = TokenDataset.Open(folder, DataSplit.Test, verifyChecksum: false))
            Assert.Equal(bytes.Length / 2, unchecked_.TokenCount);

        File.WriteAllBytes(bin, bytes[..^2]); // one token short
        e = Assert.Throws<SeddException>(() => TokenDataset.Open(folder, DataSplit.Test, verifyChecksum: false));
        Assert.Equal(SeddException.BadInput, e.ExitCode);
        Assert.Contains("bytes", e.Message, StringComparison.Ordinal);

        File.Delete(bin);
        e = Assert.Throws<SeddException>(() => TokenDataset.Open(folder, DataSplit.Test));
        Assert.Equal(SeddException.BadInput, e.ExitCode);
    }

    [Fact]
    public void TokenDatasetTest_BadMeta()
    {
        using var t = new TempFolder();
        var folder = Prepared(t);
        var metaPath = Path.Combine(folder, TokenFileMeta.FileName);
        var json = JsonNode.Parse(File.ReadAllText(metaPath))!;

        json["formatVersion"] = 99;
        File.WriteAllText(metaPath, json.ToJsonString());
        Assert.Equal(SeddException.BadInput, Assert.Throws<SeddException>(() => TokenDataset.Open(folder, DataSplit.Train)).ExitCode);

        File.WriteAllText(metaPath, "{ not json");
        Assert.Equal(SeddException.BadInput, Assert.Throws<SeddException>(() => TokenDataset.Open(folder, DataSplit.Train)).ExitCode);

        File.Delete(metaPath);
        var e = Assert.Throws<SeddException>(() => TokenDataset.Open(folder, DataSplit.Train));
        Assert.Equal(SeddException.BadInput, e.ExitCode);
        Assert.Contains("meta.json", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void TokenDatasetTest_Int32Tokens()
    {
        // No GPT-2 vocabulary needs int32; a hand-made folder checks the wide path of the reader.
        using var t = new TempFolder();
        const int vocab = 70000;
        int[][] docs = [[1, 65536, 69998], [42], [65535, 0, 7, 69000]];
        string sha;
        long tokens;
        using (var w = new TokenFileWriter(t.Combine("train.bin"), 4))
        {
            foreach (var d in docs)
                w.WriteDocument(d, vocab - 1);
            w.Commit();
            sha = w.Sha256;
            tokens = w.Tokens;
        }
        var meta = new TokenFileMeta
        {
            Tokenizer = "custom",
            VocabSize = vocab,
            EosId = vocab - 1,
            TokenDtype = TokenFileMeta.DtypeFor(vocab),
            Corpus = "test",
            Source = "memory",
            SplitRule = "none",
            Splits = new Dictionary<string, TokenSplitInfo>
            {
                ["train"] = new() { File = "train.bin", Documents = docs.Length, Tokens = tokens, Sha256 = sha },
            },
        };
        Assert.Equal("int32", meta.TokenDtype);
        File.WriteAllText(t.Combine(TokenFileMeta.FileName), meta.ToJson());

        long[] expected = [.. docs.SelectMany(d => d.Append(vocab - 1)).Select(x => (long)x)];
        var raw = File.ReadAllBytes(t.Combine("train.bin"));
        Assert.Equal(expected.Length * 4, raw.Length);
        Assert.Equal(65536, BinaryPrimitives.ReadInt32LittleEndian(raw.AsSpan(4)));

        using var data = TokenDataset.Open(t.Path, DataSplit.Train);
        Assert.Equal(expected.Length, data.TokenCount);
        Assert.Equal(expected.Length / 3, data.BlockCount(3));
        var block = new long[3];
        for (var b = 0; b < data.BlockCount(3); b++)
        {
            data.ReadBlock(b, 3, block);
            Assert.Equal(expected.AsSpan(3 * b, 3).ToArray(), block);
        }
        var e = Assert.Throws<SeddException>(() => TokenDataset.Open(t.Path, DataSplit.Valid));
        Assert.Contains("valid", e.Message, StringComparison.Ordinal);
    }

    /// <summary>Rewrites one split's file with <paramref name="edit"/> applied and meta.json updated to match (size and hash).</summary>
    static void Tamper(string folder, DataSplit split, Action<byte[]> edit)
    {
        var bin = Path.Combine(folder, split.FileName());
        var bytes = File.ReadAllBytes(bin);
        edit(bytes);
        File.WriteAllBytes(bin, bytes);
        var metaPath = Path.Combine(folder, TokenFileMeta.FileName);
        var json = JsonNode.Parse(File.ReadAllText(metaPath))!;
        json["splits"]![split.Name()]!["sha256"] = Convert.ToHexStringLower(System.Security.Cryptography.SHA256.HashData(bytes));
        File.WriteAllText(metaPath, json.ToJsonString());
    }

    [Fact]
    public void TokenDatasetTest_TokenIdsOutsideTheVocabularyAreBadInputBeforeTraining()
    {
        using var t = new TempFolder();
        var folder = Prepared(t);
        int vocab;
        using (var ok = TokenDataset.Open(folder, DataSplit.Train)) vocab = ok.VocabSize;
        // A consistent file (its hash is in meta.json) whose third token is the id just past the vocabulary.
        Tamper(folder, DataSplit.Train, b => BinaryPrimitives.WriteUInt16LittleEndian(b.AsSpan(4), (ushort)vocab));
        var e = Assert.Throws<SeddException>(() => TokenDataset.Open(folder, DataSplit.Train));
        Assert.Equal(SeddException.BadInput, e.ExitCode);
        Assert.Contains($"token id {vocab} at token 2", e.Message, StringComparison.Ordinal);
        Assert.Contains("run prepare again", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void TokenDatasetTest_SplitFilesMustStayInsideTheFolder()
    {
        using var t = new TempFolder();
        var folder = Prepared(t);
        var metaPath = Path.Combine(folder, TokenFileMeta.FileName);
        var json = JsonNode.Parse(File.ReadAllText(metaPath))!;
        json["splits"]!["train"]!["file"] = "../secret.bin";
        File.WriteAllText(metaPath, json.ToJsonString());
        var e = Assert.Throws<SeddException>(() => TokenDataset.Open(folder, DataSplit.Valid));
        Assert.Equal(SeddException.BadInput, e.ExitCode);
        Assert.Contains("inside the folder", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task TokenDatasetTest_TokenFilesThatAreNotRegularAreRefusedWithoutBlocking()
    {
        if (!OperatingSystem.IsLinux()) return;
        using var t = new TempFolder();
        var folder = Prepared(t);
        var bin = Path.Combine(folder, DataSplit.Valid.FileName());
        File.Delete(bin);
        Assert.Equal(0, Sedd.Tests.Shared.ToolProcess.RunExecutable("mkfifo", bin).Code);
        var metaPath = Path.Combine(folder, TokenFileMeta.FileName);
        var e = await Within.Seconds(20, "opening a FIFO as a token file", () => Assert.Throws<SeddException>(() => TokenDataset.Open(folder, DataSplit.Valid)));
        Assert.Equal(SeddException.BadInput, e.ExitCode);
        Assert.Contains("FIFO", e.Message, StringComparison.Ordinal);

        File.Move(metaPath, metaPath + ".real");
        Assert.Equal(0, Sedd.Tests.Shared.ToolProcess.RunExecutable("mkfifo", metaPath).Code);
        e = await Within.Seconds(20, "reading a FIFO as meta.json", () => Assert.Throws<SeddException>(() => TokenDataset.Open(folder, DataSplit.Train)));
        Assert.Contains("FIFO", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void TokenDatasetTest_OpeningStopsWhenCancelled()
    {
        using var t = new TempFolder();
        var folder = Prepared(t);
        using var cancelled = new CancellationTokenSource();
        cancelled.Cancel();
        Assert.ThrowsAny<OperationCanceledException>(() => TokenDataset.Open(folder, DataSplit.Train, cancel: cancelled.Token));
    }
}
