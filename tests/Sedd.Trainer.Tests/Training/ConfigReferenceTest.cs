using Sedd.Trainer.Training;

namespace Sedd.Trainer.Tests.Training;

/// <summary>The config reference (sedd-train config, docs/config.md) covers every key and matches the code.</summary>
public class ConfigReferenceTest
{
    [Fact]
    public void ConfigReferenceTest_EveryKeyHasADefaultAllowedValuesAndAMeaning()
    {
        var keys = ConfigReference.Keys();
        Assert.Equal(ConfigLoader.Keys().Select(k => k.Key), keys.Select(k => k.Key));
        foreach (var k in keys)
        {
            Assert.False(string.IsNullOrWhiteSpace(k.Allowed), $"{k.Key} has no rule in ConfigRules");
            Assert.True(k.Meaning.Length >= 10, $"{k.Key} has no XML documentation on its property (the meaning users read)");
            // Users read these: no internal references.
            Assert.DoesNotContain("spec §", k.Meaning, StringComparison.Ordinal);
            Assert.DoesNotContain("issue", k.Meaning, StringComparison.OrdinalIgnoreCase);
        }
    }

    [Fact]
    public void ConfigReferenceTest_DocsConfigMdIsUpToDate()
    {
        var path = Path.Combine(Sedd.Tests.Goldens.RepoRoot, "docs", "config.md");
        Assert.True(File.Exists(path), "docs/config.md is missing; write it with: dotnet run --project trainer -c Release -- config --markdown > docs/config.md");
        var expected = ConfigReference.Markdown();
        var actual = File.ReadAllText(path).ReplaceLineEndings("\n");
        Assert.True(expected == actual,
            "docs/config.md differs from the config record; regenerate it with: dotnet run --project trainer -c Release -- config --markdown > docs/config.md");
        foreach (var key in ConfigLoader.Keys())
            Assert.Contains($"| `{key.Key}` |", actual, StringComparison.Ordinal);
    }

    [Fact]
    public void ConfigReferenceTest_TextListsEveryKeyWithItsDefault()
    {
        var text = ConfigReference.Text();
        foreach (var (key, value) in ConfigLoader.Keys())
            Assert.Contains($"{key} = {value}", text, StringComparison.Ordinal);
    }
}
