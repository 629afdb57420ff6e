using Sedd.Runtime.Text;

namespace Sedd.Runtime.Tests.Text;

public class TokenizerSpecTest
{
    [Theory]
    [InlineData("gpt2", 50256)]
    [InlineData(" GPT2 ", 50256)]
    [InlineData("gpt2-50256", 50256)]
    [InlineData("gpt2-4096", 4096)]
    [InlineData("gpt2-256", 256)]
    public void TokenizerSpecTest_Parse(string text, int ranks)
    {
        var spec = TokenizerSpec.Parse(text);
        Assert.Equal("gpt2", spec.Kind);
        Assert.Equal(ranks, spec.Ranks);
        Assert.Equal(ranks, spec.EosId);
        Assert.Equal(ranks + 1, spec.VocabSize);
        // The canonical string reads back to the same spec.
        Assert.Equal(spec, TokenizerSpec.Parse(spec.ToString()));
    }

    [Fact]
    public void TokenizerSpecTest_CanonicalNames()
    {
        Assert.Equal("gpt2", TokenizerSpec.Parse("gpt2-50256").ToString());
        Assert.Equal("gpt2-4096", TokenizerSpec.Parse("GPT2-4096").ToString());
    }

    [Theory]
    [InlineData(null)]
    [InlineData("")]
    [InlineData("bert")]
    [InlineData("gpt2-")]
    [InlineData("gpt2-255")]
    [InlineData("gpt2-50257")]
    [InlineData("gpt2-+512")]
    [InlineData("gpt2-4096x")]
    [InlineData("gpt2-99999999999")]
    public void TokenizerSpecTest_Rejects(string? text)
    {
        var e = Assert.Throws<SeddException>(() => TokenizerSpec.Parse(text));
        Assert.Equal(SeddException.Usage, e.ExitCode);
        Assert.Contains("gpt2-N", e.Message, StringComparison.Ordinal);
        Assert.DoesNotContain('\n', e.Message);
    }
}
