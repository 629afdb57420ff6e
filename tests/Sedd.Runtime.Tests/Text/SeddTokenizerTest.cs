using System.Text;
using CsCheck;
using Sedd.Runtime.Text;

namespace Sedd.Runtime.Tests.Text;

public class SeddTokenizerTest
{
    // Code points drawn from the ranges where byte-level BPE can go wrong: multi-byte UTF-8
    // (Latin, CJK, Hangul, astral emoji and letters), combining marks and joiners, whitespace runs
    // (the pre-tokenizer treats them specially) and control characters including NUL.
    static readonly Gen<int> s_codePoint = Gen.Frequency(
        (30, Gen.Int[0x20, 0x7E]),
        (10, Gen.OneOf<int>(' ', '\t', '\n', '\r', 0x0B, 0x0C, 0x85, 0xA0, 0x2028, 0x3000)),
        (5, Gen.OneOf(Gen.Int[0x00, 0x1F], Gen.Int[0x7F, 0x9F])),
        (5, Gen.Int[0xA0, 0x24F]),
        (5, Gen.OneOf(Gen.Int[0x300, 0x36F], Gen.OneOf<int>(0x200B, 0x200D, 0xFE0F))),
        (5, Gen.OneOf(Gen.Int[0x4E00, 0x9FFF], Gen.Int[0xAC00, 0xD7A3], Gen.Int[0x3040, 0x30FF])),
        (5, Gen.OneOf(Gen.Int[0x1F300, 0x1FAFF], Gen.Int[0x1D400, 0x1D7FF])),
        (5, Gen.Int[0x10000, 0x10FFFF]),
        (10, Gen.Int[0, 0xFFFF].Where(c => c is < 0xD800 or > 0xDFFF)));

    static readonly Gen<string> s_text = s_codePoint.Array[0, 60].Select(cps =>
    {
        var sb = new StringBuilder(cps.Length * 2);
        foreach (var cp in cps)
            sb.Append(char.ConvertFromUtf32(cp));
        return sb.ToString();
    });

    [Theory]
    [InlineData("gpt2", 1000)]
    [InlineData("gpt2-4096", 3000)]
    [InlineData("gpt2-512", 3000)]
    public void SeddTokenizerTest_RoundTrip_Property(string spec, int iter)
    {
        var tok = SeddTokenizer.Create(spec);
        s_text.Sample(s =>
        {
            var ids = tok.Encode(s);
            foreach (var id in ids)
                Assert.InRange(id, 0, tok.VocabSize - 2); // never EOS, never the mask
            Assert.Equal(s, tok.Decode(ids));
        }, iter: iter, seed: null);
    }

    [Theory]
    [InlineData("gpt2", 50257)]
    [InlineData("gpt2-4096", 4097)]
    [InlineData("gpt2-512", 513)]
    public void SeddTokenizerTest_Sizes(string spec, int vocab)
    {
        var tok = SeddTokenizer.Create(spec);
        Assert.Equal(vocab, tok.VocabSize);
        Assert.Equal(vocab - 1, tok.EosId);
        Assert.Equal(TokenizerSpec.Parse(spec), tok.Spec);
    }

    [Fact]
    public void SeddTokenizerTest_Gpt2MatchesReferenceIds()
    {
        // GPT-2 (tiktoken "gpt2"): "Hello world" -> [15496, 995] (platform-notes §4).
        var tok = SeddTokenizer.Create(TokenizerSpec.Gpt2);
        Assert.Equal([15496, 995], tok.Encode("Hello world"));
    }

    [Fact]
    public void SeddTokenizerTest_TruncatedIsCoarserThanFull()
    {
        const string text = "The jury further said in term-end presentments that the City Executive Committee";
        var full = SeddTokenizer.Create("gpt2").Encode(text);
        var small = SeddTokenizer.Create("gpt2-512").Encode(text);
        Assert.True(small.Length > full.Length, $"gpt2-512 gave {small.Length} ids, gpt2 {full.Length}");
        Assert.All(small, id => Assert.InRange(id, 0, 511));
    }

    [Theory]
    [InlineData("gpt2")]
    [InlineData("gpt2-4096")]
    public void SeddTokenizerTest_LiteralEndOfTextStaysText(string spec)
    {
        var tok = SeddTokenizer.Create(spec);
        var text = "end" + SeddTokenizer.EosText + "start";
        var ids = tok.Encode(text);
        Assert.DoesNotContain(tok.EosId, ids);
        Assert.Equal(text, tok.Decode(ids));
    }

    [Fact]
    public void SeddTokenizerTest_DecodeEos()
    {
        var tok = SeddTokenizer.Create("gpt2-4096");
        var ids = tok.Encode("a b");
        int[] withEos = [.. ids, tok.EosId];
        Assert.Equal("a b" + SeddTokenizer.EosText, tok.Decode(withEos));
        Assert.Equal("", tok.Decode([]));
    }

    [Fact]
    public void SeddTokenizerTest_RejectsLoneSurrogate()
    {
        // Built here, not in attributes: xunit serialises theory strings as UTF-8, turning a lone
        // surrogate into U+FFFD before the test sees it.
        string[] cases =
        [
            new string((char)0xD800, 1),
            "ab" + (char)0xD83D,
            "x" + (char)0xDC00 + "y",
            string.Concat((char)0xDE00, (char)0xD83D), // reversed pair
        ];
        var tok = SeddTokenizer.Create("gpt2-512");
        foreach (var text in cases)
        {
            var e = Assert.Throws<SeddException>(() => tok.Encode(text));
            Assert.Equal(SeddException.BadInput, e.ExitCode);
            Assert.Contains("surrogate", e.Message, StringComparison.Ordinal);
        }
        // A proper pair is fine.
        Assert.Equal("\U0001F600", tok.Decode(tok.Encode("\U0001F600")));
    }

    [Theory]
    [InlineData(-1)]
    [InlineData(513)] // the absorbing mask id
    [InlineData(100000)]
    public void SeddTokenizerTest_DecodeRejectsOutOfRange(int id)
    {
        var tok = SeddTokenizer.Create("gpt2-512");
        var e = Assert.Throws<SeddException>(() => tok.Decode([65, id]));
        Assert.Equal(SeddException.BadInput, e.ExitCode);
        Assert.Contains(id.ToString(System.Globalization.CultureInfo.InvariantCulture), e.Message, StringComparison.Ordinal);
    }
}
