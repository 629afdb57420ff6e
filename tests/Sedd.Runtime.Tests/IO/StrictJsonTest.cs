using Sedd.Runtime.IO;

namespace Sedd.Runtime.Tests.IO;

/// <summary>JSON files: one object, no key given twice, bounded nesting, every failure one line of bad input.</summary>
public sealed class StrictJsonTest
{
    [Theory]
    [InlineData("""{"a": 1, "a": 2}""", "Duplicate")]
    [InlineData("""{"a": {"b": 1, "b": 1}}""", "Duplicate")]
    [InlineData("[1]", "does not hold a JSON object")]
    [InlineData("{\"a\": 1} // comment", "not valid JSON")]
    [InlineData("{\"a\": NaN}", "not valid JSON")]
    public void StrictJson_Refuses(string json, string expected)
    {
        var e = Assert.Throws<SeddException>(() => StrictJson.ParseObject(json, "x.json"));
        Assert.Equal(SeddException.BadInput, e.ExitCode);
        Assert.DoesNotContain('\n', e.Message);
        Assert.Contains(expected, e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void StrictJson_RefusesDeepNesting()
    {
        var deep = "{\"a\": " + new string('[', 1000) + new string(']', 1000) + "}";
        Assert.Contains("not valid JSON", Assert.Throws<SeddException>(() => StrictJson.ParseObject(deep, "x.json")).Message, StringComparison.Ordinal);
        Assert.Equal(2, StrictJson.ParseObject("{\"a\": {\"b\": 2}}", "x.json")["a"]!["b"]!.GetValue<int>());
    }
}
