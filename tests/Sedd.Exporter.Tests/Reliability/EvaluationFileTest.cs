using Sedd.Exporter;
using Sedd.Runtime;

namespace Sedd.Tests;

/// <summary>--eval files: what reaches the manifest is a plausible evaluation, and anything else is a one-line bad input.</summary>
public sealed class EvaluationFileTest : IDisposable
{
    readonly string root = Directory.CreateTempSubdirectory("sedd-eval-").FullName;

    string Write(string json)
    {
        var path = Path.Combine(root, Guid.NewGuid().ToString("N") + ".json");
        File.WriteAllText(path, json);
        return path;
    }

    [Fact]
    public void EvaluationFile_ReadsWhatSeddTrainWrites()
    {
        var e = EvaluationFile.Read(Write("""{"objective":"sedd","split":"test","blocks":10,"tokens":1280,"samples":8,"diffusion":5.0,"standard_error":0.02,"prior":0.008,"seconds":1.5,"perplexity":149.6,"perplexity_low":143.0,"perplexity_high":155.0}"""));
        Assert.Equal(("test", 149.6, 5.0, 0.02, 8), (e.Split, e.PerplexityBound, e.NatsPerToken!.Value, e.StandardError!.Value, e.Samples!.Value));
    }

    [Theory]
    [InlineData("""{"split":"test","perplexity":-3}""", "\"perplexity\" is -3")]
    [InlineData("""{"split":"test","perplexity":0.5}""", "expected a finite number ≥ 1")]
    [InlineData("""{"split":"test","perplexity":1e999}""", "expected a finite number ≥ 1")]
    [InlineData("""{"split":"test","perplexity":"NaN"}""", "expected a finite number ≥ 1")]
    [InlineData("""{"split":"test","perplexity":12,"diffusion":-1}""", "\"diffusion\"")]
    [InlineData("""{"split":"test","perplexity":12,"standard_error":-0.1}""", "\"standard_error\"")]
    [InlineData("""{"split":"test","perplexity":12,"samples":0}""", "\"samples\"")]
    [InlineData("""{"split":"test","perplexity":12,"perplexity":13}""", "Duplicate")]
    [InlineData("""{"split":"\u001b[31mtest","perplexity":12}""", "split name")]
    [InlineData("""{"split":"test"}""", "no numeric \"perplexity\"")]
    [InlineData("""{"objective":"ar","split":"test","perplexity":12}""", "objective 'ar'")]
    [InlineData("[1]", "does not hold a JSON object")]
    [InlineData("not json", "not valid JSON")]
    public void EvaluationFile_Implausible_IsBadInput(string json, string expected)
    {
        var e = Assert.Throws<SeddException>(() => EvaluationFile.Read(Write(json)));
        Assert.Equal(SeddException.BadInput, e.ExitCode);
        Assert.DoesNotContain('\n', e.Message);
        Assert.Contains(expected, e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void EvaluationFile_TooLargeOrNotARegularFile_IsBadInput()
    {
        var big = Path.Combine(root, "big.json");
        File.WriteAllText(big, "{\"split\":\"test\",\"perplexity\":12,\"pad\":\"" + new string('x', (int)EvaluationFile.MaxBytes) + "\"}");
        Assert.Contains("at most", Assert.Throws<SeddException>(() => EvaluationFile.Read(big)).Message, StringComparison.Ordinal);
        Assert.Contains("a directory", Assert.Throws<SeddException>(() => EvaluationFile.Read(root)).Message, StringComparison.Ordinal);
        Assert.Equal(SeddException.Usage, Assert.Throws<SeddException>(() => EvaluationFile.Read("")).ExitCode);
    }

    public void Dispose() => Directory.Delete(root, recursive: true);
}
