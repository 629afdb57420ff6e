using System.Globalization;
using System.Text.Json.Nodes;
using CsCheck;
using Sedd.Runtime;
using Sedd.Trainer.Tests.Data;
using Sedd.Trainer.Training;

namespace Sedd.Trainer.Tests.Training;

/// <summary>
/// Config files and overrides: every mistake is one line naming the key, what it takes and where the value
/// came from; exit 1 for a config the user gives, 2 for the config.json of a run being read; never a crash.
/// </summary>
public class ConfigLoaderTest
{
    static SeddException Fails(Action load)
    {
        var e = Assert.ThrowsAny<Exception>(load);
        return Assert.IsType<SeddException>(e);
    }

    static SeddException FailsOverride(params string[] overrides) => Fails(() => ConfigLoader.Load(null, overrides));

    [Fact]
    public void ConfigLoaderTest_DefaultsAndConfigsInTheRepositoryAreValid()
    {
        Assert.Equal(new TrainConfig(), ConfigLoader.Load(null, []));
        var configs = Path.Combine(Sedd.Tests.Goldens.RepoRoot, "configs");
        foreach (var file in Directory.GetFiles(configs, "*.json"))
            ConfigLoader.Load(file, []);
    }

    [Fact]
    public void ConfigLoaderTest_EveryKeyHasARule()
    {
        var keys = ConfigLoader.Keys().Select(k => k.Key).ToArray();
        Assert.Equal(keys, ConfigRules.All.Select(r => r.Key));
        foreach (var (keyList, _) in ConfigRules.Relations)
            Assert.All(keyList, k => Assert.Contains(k, keys));
    }

    /// <summary>For every key, a value just outside what its rule allows (and one of the wrong type).</summary>
    public static TheoryData<string, string> BadValues()
    {
        var data = new TheoryData<string, string>();
        var c = CultureInfo.InvariantCulture;
        foreach (var rule in ConfigRules.All)
        {
            switch (rule.Kind)
            {
                case ConfigKind.Choice: data.Add(rule.Key, "bogus"); break;
                case ConfigKind.Path: data.Add(rule.Key, ""); break;
                case ConfigKind.Boolean: data.Add(rule.Key, "maybe"); break;
                default:
                    bool whole = rule.Kind == ConfigKind.Integer;
                    if (double.IsFinite(rule.Min) && rule.Min > long.MinValue)
                        data.Add(rule.Key, (rule.MinOpen ? rule.Min : whole ? rule.Min - 1 : rule.Min - 1e-9).ToString("R", c));
                    if (rule.Max < (whole ? long.MaxValue : 1e300))
                        data.Add(rule.Key, (rule.MaxOpen ? rule.Max : whole ? rule.Max + 1 : rule.Max * 2).ToString("R", c));
                    data.Add(rule.Key, whole ? "1.5" : "NaN");
                    data.Add(rule.Key, "Infinity");
                    break;
            }
        }
        return data;
    }

    [Theory]
    [MemberData(nameof(BadValues))]
    public void ConfigLoaderTest_EveryKeyRejectsValuesOutsideItsRule(string key, string value)
    {
        var e = FailsOverride($"{key}={value}");
        Assert.Equal(SeddException.Usage, e.ExitCode);
        Assert.Contains(key, e.Message, StringComparison.Ordinal);
        Assert.Contains(ConfigRules.Of(key)!.Allowed, e.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("training.bach_size=3", "did you mean 'training.batch_size'")]
    [InlineData("trainig.steps=3", "did you mean 'training.steps'")]
    [InlineData("noise.eps=0.001", "noise has: type, sigma_min, sigma_max")]
    [InlineData("batch_size=3", "did you mean 'training.batch_size'")]
    [InlineData("model=3", "unknown config key 'model'")]
    [InlineData("steps", "section.key=value")]
    [InlineData("=3", "section.key=value")]
    public void ConfigLoaderTest_UnknownKeysNameTheValidOnes(string item, string expected)
    {
        var e = FailsOverride(item);
        Assert.Equal(SeddException.Usage, e.ExitCode);
        Assert.Contains(expected, e.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("""{"model": {"hidden_size": [1, 2]}}""", "model.hidden_size must be an integer", "got an array")]
    [InlineData("""{"model": {"hidden_size": {"x": 1}}}""", "model.hidden_size must be an integer", "got an object")]
    [InlineData("""{"model": 5}""", "'model' is a section", "got 5")]
    [InlineData("""{"optim": {"lr": 1e400}}""", "optim.lr must be a number > 0", "1e400")]
    [InlineData("""{"optim": {"lr": "0.1"}}""", "optim.lr must be a number > 0", "'0.1'")]
    [InlineData("""{"optim": {"beta1": 2}}""", "optim.beta1 must be a number with 0 ≤ x < 1", "got 2")]
    [InlineData("""{"training": {"steps": 1e3}}""", "training.steps must be an integer", "1e3")]
    [InlineData("""{"training": {"steps": 3000000000}}""", "training.steps must be an integer", "3000000000")]
    [InlineData("""{"training": {"precision": null}}""", "training.precision must be one of fp32, bf16", "got null")]
    [InlineData("""{"data": ""}""", "data must be a non-empty path", "''")]
    [InlineData("""{"optim": {"lr": 1, "lr": 2}}""", "not valid JSON", "Duplicate")]
    [InlineData("""{"bogus": 1}""", "unknown config key 'bogus'", "top-level keys")]
    [InlineData("""[1, 2]""", "must hold one JSON object", "")]
    [InlineData("""{"a": """, "not valid JSON", "")]
    public void ConfigLoaderTest_FileMistakesAreUsageErrorsNamingTheFile(string json, string expected, string got)
    {
        using var t = new TempFolder();
        var file = t.Write("c.json", json);
        var e = Fails(() => ConfigLoader.Load(file, []));
        Assert.Equal(SeddException.Usage, e.ExitCode);
        Assert.Contains(expected, e.Message, StringComparison.Ordinal);
        Assert.Contains(got, e.Message, StringComparison.Ordinal);
        Assert.Contains(file, e.Message, StringComparison.Ordinal);
        Assert.DoesNotContain('\n', e.Message);
    }

    [Fact]
    public void ConfigLoaderTest_ARunsOwnConfigIsBadInputButOverridesAreUsage()
    {
        using var t = new TempFolder();
        var file = t.Write("config.json", """{"optim": {"beta1": 2}}""");
        Assert.Equal(SeddException.BadInput, Fails(() => ConfigLoader.LoadRun(file, [])).ExitCode);
        Assert.Equal(SeddException.BadInput, Fails(() => ConfigLoader.FromJson("""{"model": {"n_heads": "4"}}""", "checkpoint config")).ExitCode);
        var good = t.Write("good.json", ConfigLoader.ToJson(new TrainConfig()));
        var e = Fails(() => ConfigLoader.LoadRun(good, ["optim.beta1=2"]));
        Assert.Equal(SeddException.Usage, e.ExitCode);
        Assert.DoesNotContain(good, e.Message, StringComparison.Ordinal); // the value came from the command line
        // A relation broken by a value of the file and one of the command line: the command line's mistake.
        Assert.Equal(SeddException.Usage, Fails(() => ConfigLoader.LoadRun(good, ["model.n_heads=3"])).ExitCode);
    }

    [Fact]
    public async Task ConfigLoaderTest_ConfigFilesThatAreNotRegularFilesAreRefused()
    {
        using var t = new TempFolder();
        Assert.Equal(SeddException.Usage, Fails(() => ConfigLoader.Load("", [])).ExitCode);
        Assert.Equal(SeddException.BadInput, Fails(() => ConfigLoader.Load(t.Combine("missing.json"), [])).ExitCode);
        Assert.Equal(SeddException.BadInput, Fails(() => ConfigLoader.Load(t.Path, [])).ExitCode);
        if (!OperatingSystem.IsLinux()) return;
        var fifo = t.Combine("fifo.json");
        Assert.Equal(0, Sedd.Tests.Shared.ToolProcess.RunExecutable("mkfifo", fifo).Code);
        var e = await Within.Seconds(20, "reading a FIFO as the config", () => Fails(() => ConfigLoader.Load(fifo, [])));
        Assert.Equal(SeddException.BadInput, e.ExitCode);
        Assert.Contains("FIFO", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void ConfigLoaderTest_ThreadsAreCappedAtAFewPerCore()
    {
        int max = ThreadCount.Max;
        Assert.Equal(max, ConfigLoader.Load(null, [$"training.threads={max}"]).Training.Threads);
        var e = FailsOverride($"training.threads={max + 1}");
        Assert.Contains(string.Create(CultureInfo.InvariantCulture, $"at most {max} on this machine"), e.Message, StringComparison.Ordinal);
        // A run made on a machine with more cores still opens here (the trainer caps the threads it uses).
        var stored = ConfigLoader.ToJson(new TrainConfig()).Replace("\"threads\": 0", string.Create(CultureInfo.InvariantCulture, $"\"threads\": {max + 1}"), StringComparison.Ordinal);
        Assert.Equal(max + 1, ConfigLoader.FromJson(stored, "a run's config").Training.Threads);
        Assert.True(ConfigLoader.IsConfig(stored));
        Assert.False(ConfigLoader.IsConfig("""{"model": {"hidden_size": 768}, "tokens": 50257}"""));
        Assert.False(ConfigLoader.IsConfig("[]"));
    }

    [Fact]
    public void ConfigLoaderTest_ValuesRoundTripThroughTheResolvedConfig()
    {
        var config = ConfigLoader.Load(null, ["optim.lr=0.002", "training.seed=-5", "model.time_independent=true", "noise.type=geometric", "output=runs/x y"]);
        Assert.Equal(0.002, config.Optim.Lr);
        Assert.Equal(-5, config.Training.Seed);
        Assert.True(config.Model.TimeIndependent);
        Assert.Equal("runs/x y", config.Output);
        Assert.Equal(config, ConfigLoader.FromJson(ConfigLoader.ToJson(config), "round trip"));
    }

    [Fact]
    public void ConfigLoaderTest_AnyJsonValueForAnyKeyIsAcceptedOrOneUsageLine()
    {
        var keys = ConfigLoader.Keys().Select(k => k.Key).ToArray();
        var value = Gen.OneOf(
            Gen.Double.Select(d => (JsonNode?)JsonValue.Create(double.IsFinite(d) ? d : 0)),
            Gen.Long.Select(l => (JsonNode?)JsonValue.Create(l)),
            Gen.Int[-3, 300].Select(i => (JsonNode?)JsonValue.Create(i)),
            Gen.String.Select(s => (JsonNode?)JsonValue.Create(s)),
            Gen.Bool.Select(b => (JsonNode?)JsonValue.Create(b)),
            Gen.Const((JsonNode?)null),
            Gen.Int.Array[0, 3].Select(a => (JsonNode?)new JsonArray([.. a.Select(i => (JsonNode?)JsonValue.Create(i))])));
        Gen.Select(Gen.Int[0, keys.Length - 1].Array[1, 4], value.Array[4]).Sample((picks, values) =>
        {
            var root = new JsonObject();
            for (int i = 0; i < picks.Length; i++)
            {
                var parts = keys[picks[i]].Split('.');
                var obj = root;
                foreach (var p in parts[..^1]) obj = (obj[p] as JsonObject) ?? (JsonObject)(obj[p] = new JsonObject());
                obj[parts[^1]] = values[i]?.DeepClone();
            }
            try { ConfigLoader.FromJson(root.ToJsonString(), "generated"); }
            catch (SeddException e)
            {
                Assert.Equal(SeddException.BadInput, e.ExitCode);
                Assert.DoesNotContain('\n', e.Message);
            }
        }, iter: 2000);
    }
}
