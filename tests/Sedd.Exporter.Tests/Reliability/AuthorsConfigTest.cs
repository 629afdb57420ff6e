using System.Diagnostics;
using System.Text;
using System.Text.Json.Nodes;
using Sedd.Exporter.Sources;
using Sedd.Runtime;
using Sedd.Tests.Shared;

namespace Sedd.Tests;

/// <summary>
/// The authors' configs are untrusted input: a 1.3 KB "billion laughs" YAML and a 30,000-level nested
/// one are refused in one line (exit 2) within a second, with no stack overflow, also when the exporter
/// finds them on its own beside a .pth (<c>../.hydra/config.yaml</c>); a mapping as a key, a key given
/// twice, NaN, infinities and absurd sizes are bad input (exit 2), never an internal error.
/// </summary>
public sealed class AuthorsConfigTest : IDisposable
{
    readonly string root = Directory.CreateTempSubdirectory("sedd-export-config-").FullName;

    static string GoldenYaml => Directory.GetFiles(Goldens.PathOf("checkpoints"), "*.yaml").Order(StringComparer.Ordinal).First();

    static string GoldenPth => Directory.GetFiles(Goldens.PathOf("checkpoints"), "*.pth").Order(StringComparer.Ordinal).First();

    static string GoldenHub => Directory.GetDirectories(Goldens.PathOf("checkpoints"), "hf-*").Order(StringComparer.Ordinal).First();

    /// <summary>Nine levels of nine aliases: 9⁹ ≈ 3.9 × 10⁸ strings from about 1.3 KB of YAML.</summary>
    public static string BillionLaughs()
    {
        var b = new StringBuilder("a: &a [\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\"]\n");
        for (char c = 'b'; c <= 'i'; c++)
            b.Append($"{c}: &{c} [{string.Join(",", Enumerable.Repeat("*" + (char)(c - 1), 9))}]\n");
        b.Append("model: *i\n");
        return b.ToString();
    }

    public static TheoryData<string, string> Hostile() => new()
    {
        { "billion-laughs", BillionLaughs() },
        { "deep-flow", "model: " + new string('[', 30_000) + new string(']', 30_000) + "\n" },
        { "deep-block", "model:\n  " + string.Concat(Enumerable.Repeat("- ", 30_000)) + "x\n" },
        { "deep-mapping", "model: " + string.Concat(Enumerable.Repeat("{a: ", 30_000)) + "1" + new string('}', 30_000) + "\n" },
    };

    [Theory]
    [MemberData(nameof(Hostile))]
    public void AuthorsConfig_HostileYaml_RefusedQuickly(string name, string yaml)
    {
        var path = Path.Combine(root, name + ".yaml");
        File.WriteAllText(path, yaml);
        var clock = Stopwatch.StartNew();
        var e = Assert.Throws<SeddException>(() => AuthorsConfig.ReadYaml(path));
        Assert.True(clock.Elapsed < TimeSpan.FromSeconds(2), $"{name}: {clock.Elapsed.TotalSeconds:F1} s");
        Assert.Equal(SeddException.BadInput, e.ExitCode);
        Assert.DoesNotContain('\n', e.Message);
        Assert.Contains(name == "billion-laughs" ? "expands to more than" : "nests more than", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void AuthorsConfig_HostileYamlBesideAPth_RefusedByTheCli()
    {
        // run_train.py's layout: <run>/checkpoints/checkpoint.pth and <run>/.hydra/config.yaml, found without --config.
        var run = Directory.CreateDirectory(Path.Combine(root, "run")).FullName;
        Directory.CreateDirectory(Path.Combine(run, "checkpoints"));
        Directory.CreateDirectory(Path.Combine(run, ".hydra"));
        var pth = Path.Combine(run, "checkpoints", "checkpoint.pth");
        File.Copy(GoldenPth, pth);
        foreach (var (name, yaml) in new[] { ("billion-laughs", BillionLaughs()), ("deep", "model: " + new string('[', 30_000) + new string(']', 30_000)) })
        {
            File.WriteAllText(Path.Combine(run, ".hydra", "config.yaml"), yaml);
            var r = ToolProcess.Run(Path.Combine(AppContext.BaseDirectory, "sedd-export.dll"), root, null, pth, "--out", Path.Combine(root, "pkg"));
            ToolProcess.AssertOneLineFailure(r, "sedd-export", SeddException.BadInput, quietStdout: true, "config.yaml");
            Assert.False(Directory.Exists(Path.Combine(root, "pkg")), name);
        }
    }

    public static TheoryData<string, string, string> BadYaml() => new()
    {
        { "mapping-key", "? {a: 1}\n: 2\n", "as a key" },
        { "list-key", "? [a, b]\n: 2\n", "as a key" },
        { "duplicate-key", "graph:\n  type: absorb\ngraph:\n  type: uniform\n", "graph" },
        { "not-a-mapping", "- a\n- b\n", "does not hold a config mapping" },
        { "syntax", "a: [1, 2\n", "is not valid YAML" },
    };

    [Theory]
    [MemberData(nameof(BadYaml))]
    public void AuthorsConfig_MalformedYaml_IsBadInput(string name, string yaml, string expected)
    {
        var path = Path.Combine(root, name + ".yaml");
        File.WriteAllText(path, yaml);
        var e = Assert.Throws<SeddException>(() => AuthorsConfig.ReadYaml(path));
        Assert.Equal(SeddException.BadInput, e.ExitCode);
        Assert.Contains(expected, e.Message, StringComparison.Ordinal);
    }

    /// <summary>Values taken from the golden config and made unusable one at a time (YAML spellings of NaN and infinity included).</summary>
    public static TheoryData<string, string, string> BadValues() => new()
    {
        { "noise.sigma_max", "NaN", "expected a number" },
        { "noise.sigma_max", ".nan", "expected a number" },
        { "noise.sigma_max", "Infinity", "expected a number" },
        { "noise.sigma_min", "-.inf", "expected a number" },
        { "model.hidden_size", "1e12", "expected a non-negative integer" },
        { "model.n_blocks", "-3", "expected a non-negative integer" },
        { "model.length", "2147483647", "positions a package may have" },
        { "model.n_heads", "0", "n_heads" },
    };

    [Theory]
    [MemberData(nameof(BadValues))]
    public void AuthorsConfig_UnusableValue_IsBadInputNotACrash(string key, string value, string expected)
    {
        var node = AuthorsConfig.ParseYaml(File.ReadAllText(GoldenYaml), GoldenYaml);
        var parts = key.Split('.');
        var yaml = new StringBuilder();
        foreach (var (k, v) in node)
        {
            if (k != parts[0]) { yaml.Append(k).Append(": ").Append(v?.ToJsonString()).Append('\n'); continue; }
            yaml.Append(k).Append(":\n");
            foreach (var (k2, v2) in v!.AsObject())
                yaml.Append("  ").Append(k2).Append(": ").Append(k2 == parts[1] ? value : v2?.ToJsonString()).Append('\n');
        }
        var path = Path.Combine(root, "config.yaml");
        File.WriteAllText(path, yaml.ToString());
        var e = Assert.Throws<SeddException>(() => SourceLoader.Load(GoldenPth, "ema", null, null, path));
        Assert.Equal(SeddException.BadInput, e.ExitCode);
        Assert.Contains(expected, e.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("{\"tokens\": 10, \"tokens\": 11}", "Duplicate")]
    [InlineData("{\"noise\": {\"sigma_max\": 1e999}}", "expected a number")]
    [InlineData("[1, 2]", "does not hold a JSON object")]
    public void AuthorsConfig_MalformedHubJson_IsBadInput(string json, string expected)
    {
        // The golden hub folder with its config.json replaced; the weights stay the case's own.
        var hub = Directory.CreateDirectory(Path.Combine(root, "hub")).FullName;
        foreach (var f in Directory.GetFiles(GoldenHub)) File.Copy(f, Path.Combine(hub, Path.GetFileName(f)), overwrite: true);
        var config = JsonNode.Parse(File.ReadAllText(Path.Combine(GoldenHub, "config.json")))!.AsObject();
        if (json.StartsWith("{\"noise\"", StringComparison.Ordinal)) config["noise"]!["sigma_max"] = JsonNode.Parse("1e999");
        var text = json.StartsWith("{\"noise\"", StringComparison.Ordinal) ? config.ToJsonString() : json;
        File.WriteAllText(Path.Combine(hub, "config.json"), text);
        var e = Assert.Throws<SeddException>(() => SourceLoader.Load(hub, "ema", null, null, null));
        Assert.Equal(SeddException.BadInput, e.ExitCode);
        Assert.Contains(expected, e.Message, StringComparison.Ordinal);
    }

    public void Dispose() => Directory.Delete(root, recursive: true);
}
