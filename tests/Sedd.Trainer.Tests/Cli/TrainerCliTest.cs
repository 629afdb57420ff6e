using System.Globalization;
using System.Text.Json.Nodes;
using Sedd.Runtime;
using Sedd.Tests.Shared;
using Sedd.Trainer.Tests.Data;
using Sedd.Trainer.Training;

namespace Sedd.Trainer.Tests.Cli;

/// <summary>
/// One prepared corpus and two tiny runs (SEDD and AR, 10 steps each), made through the CLI once for
/// all of <see cref="TrainerCliTest"/>. Tests that damage a run work on a copy.
/// </summary>
public sealed class CliRuns : IDisposable
{
    public const int Steps = 10;

    public CliRuns()
    {
        var corpus = TinyTraining.WriteCorpus(Folder);
        Data = Folder.Combine("data");
        Prepare = CliProcess.Run(Folder.Path, "prepare", "--corpus", corpus, "--output", Data, "--tokenizer", TinyTraining.Tokenizer, "--cache", Folder.Combine("cache"));
        Sedd = Folder.Combine("sedd");
        TrainSedd = CliProcess.Run(Folder.Path, ["train", .. Overrides(Sedd)]);
        Ar = Folder.Combine("ar");
        TrainAr = CliProcess.Run(Folder.Path, ["train", .. Overrides(Ar), "objective=ar"]);
    }

    internal TempFolder Folder { get; } = new();

    public string Data { get; }

    public string Sedd { get; }

    public string Ar { get; }

    internal ToolResult Prepare { get; }

    internal ToolResult TrainSedd { get; }

    internal ToolResult TrainAr { get; }

    /// <summary>The tiny model's overrides, checkpointing every 5 steps.</summary>
    public string[] Overrides(string output) => [.. TinyTraining.Overrides(Data, output, Steps), "training.checkpoint_every=5"];

    public void Dispose() => Folder.Dispose();
}

/// <summary>
/// sedd-train at the command line: every bad input of the trainer ends with its exit code and exactly one
/// stderr line, with nothing already written lost; eval prints SEDD's bound and AR's exact perplexity.
/// </summary>
public partial class TrainerCliTest(CliRuns runs) : IClassFixture<CliRuns>
{
    static readonly CultureInfo Inv = CultureInfo.InvariantCulture;

    /// <summary>Every file under a folder with its bytes.</summary>
    static Dictionary<string, byte[]> Snapshot(string folder) =>
        Directory.GetFiles(folder, "*", SearchOption.AllDirectories).ToDictionary(f => f, File.ReadAllBytes);

    static void AssertUnchanged(Dictionary<string, byte[]> before, string folder)
    {
        var after = Snapshot(folder);
        Assert.Equal(before.Keys.Order(StringComparer.Ordinal), after.Keys.Order(StringComparer.Ordinal));
        foreach (var (file, bytes) in before)
            Assert.True(bytes.AsSpan().SequenceEqual(after[file]), $"{file} changed");
    }

    static string CopyRun(string from, string to)
    {
        foreach (var file in Directory.GetFiles(from, "*", SearchOption.AllDirectories))
        {
            var target = Path.Combine(to, Path.GetRelativePath(from, file));
            Directory.CreateDirectory(Path.GetDirectoryName(target)!);
            File.Copy(file, target);
        }
        return to;
    }

    [Fact]
    public void TrainerCliTest_PrepareAndTrainSucceed()
    {
        Assert.True(runs.Prepare.Code == 0, runs.Prepare.ToString());
        Assert.True(File.Exists(Path.Combine(runs.Data, "meta.json")));
        foreach (var (run, result) in new[] { (runs.Sedd, runs.TrainSedd), (runs.Ar, runs.TrainAr) })
        {
            Assert.True(result.Code == 0, result.ToString());
            Assert.Contains($"done: step {CliRuns.Steps}", result.Out, StringComparison.Ordinal);
            Assert.True(result.Err.Length == 0, $"a successful run wrote to stderr; {result}");
            Assert.Equal(["step-00000005", "step-00000010"], Checkpoint.All(run).Select(Path.GetFileName));
            Assert.True(File.Exists(Path.Combine(run, "loss.png")));
            Assert.True(File.Exists(Path.Combine(run, "metrics.jsonl")));
        }
    }

    // ---- the command line itself ----

    [Fact]
    public void TrainerCliTest_MissingArgumentIsNamedInOneLine()
    {
        using var t = new TempFolder();
        var r = CliProcess.Run(t.Path, "eval");
        CliProcess.AssertOneLineFailure(r, SeddException.Usage, "-m/--model");
    }

    [Fact]
    public void TrainerCliTest_UnknownOptionIsAUsageError()
    {
        using var t = new TempFolder();
        var r = CliProcess.Run(t.Path, "train", "--bogus");
        Assert.True(r.Code == SeddException.Usage, $"expected exit 1; {r}");
        var lines = r.Err.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.True(lines.Length == 1 && lines[0].Contains("bogus", StringComparison.Ordinal), r.ToString());
    }

    // ---- prepare ----

    [Fact]
    public void TrainerCliTest_PrepareMissingCorpus()
    {
        using var t = new TempFolder();
        var r = CliProcess.Run(t.Path, "prepare", "--corpus", t.Combine("nowhere"), "--output", t.Combine("out"), "--tokenizer", TinyTraining.Tokenizer);
        CliProcess.AssertOneLineFailure(r, SeddException.BadInput, "nowhere");
        Assert.False(Directory.Exists(t.Combine("out")) && Directory.EnumerateFileSystemEntries(t.Combine("out")).Any());
    }

    [Fact]
    public void TrainerCliTest_PrepareEmptyCorpus()
    {
        using var t = new TempFolder();
        t.Write("corpus/empty.txt", "");
        t.Write("corpus/blank.txt", " \n\n");
        var r = CliProcess.Run(t.Path, "prepare", "--corpus", t.Combine("corpus"), "--output", t.Combine("out"), "--tokenizer", TinyTraining.Tokenizer);
        CliProcess.AssertOneLineFailure(r, SeddException.BadInput, "empty");
        Assert.False(Directory.Exists(t.Combine("out")) && Directory.EnumerateFileSystemEntries(t.Combine("out")).Any());
    }

    [Fact]
    public void TrainerCliTest_PrepareUnknownTokenizer()
    {
        using var t = new TempFolder();
        var corpus = TinyTraining.WriteCorpus(t);
        var r = CliProcess.Run(t.Path, "prepare", "--corpus", corpus, "--output", t.Combine("out"), "--tokenizer", "bert-base");
        CliProcess.AssertOneLineFailure(r, SeddException.Usage, "bert-base");
        Assert.False(Directory.Exists(t.Combine("out")));
    }

    // ---- train: config and data that cannot work ----

    [Theory]
    [InlineData("model.length=2500", SeddException.BadInput, "2500")]       // longer than the whole train split
    [InlineData("model.length=100000", SeddException.Usage, "memory")]      // attention over 10⁵ tokens cannot fit
    [InlineData("model.hidden_size=34", SeddException.Usage, "even")]       // 2 heads of 17: rotary needs an even head dim
    [InlineData("model.length=1", SeddException.Usage, "model.length")]
    [InlineData("training.bach_size=3", SeddException.Usage, "training.bach_size")]
    [InlineData("graph.type=uniform noise.type=geometric model.parameterization=normalized", SeddException.Usage, "model.parameterization=normalized needs graph.type=absorb")]
    [InlineData("model.parameterization=radd", SeddException.Usage, "model.parameterization")]
    [InlineData("training.time_sampling=sobol", SeddException.Usage, "training.time_sampling")]
    [InlineData("training.patience=3", SeddException.Usage, "training.eval_every")]          // the tiny runs never validate
    [InlineData("training.patience=-1 training.eval_every=1", SeddException.Usage, "training.patience")]
    public void TrainerCliTest_TrainRejectsBadConfig(string settings, int code, string expectedText)
    {
        using var t = new TempFolder();
        var output = t.Combine("run");
        var r = CliProcess.Run(t.Path, ["train", .. TinyTraining.Overrides(runs.Data, output, 2), .. settings.Split(' ')]);
        CliProcess.AssertOneLineFailure(r, code, expectedText);
        Assert.Null(Checkpoint.Latest(output));
    }

    [Fact]
    public void TrainerCliTest_TrainRejectsBlockLongerThanValidSplit()
    {
        // A length the train split holds a batch of, but the valid split not one block of: refused before any step.
        long validTokens, trainTokens;
        using (var valid = Sedd.Trainer.Data.TokenDataset.Open(runs.Data, Sedd.Trainer.Data.DataSplit.Valid))
            validTokens = valid.TokenCount;
        using (var train = Sedd.Trainer.Data.TokenDataset.Open(runs.Data, Sedd.Trainer.Data.DataSplit.Train))
            trainTokens = train.TokenCount;
        int length = (int)validTokens + 1;
        long batch = trainTokens / length;
        Assert.True(batch >= 1, $"the test corpus needs a train split longer than its valid split ({trainTokens} vs {validTokens} tokens)");

        using var t = new TempFolder();
        var output = t.Combine("run");
        var r = CliProcess.Run(t.Path, ["train", .. TinyTraining.Overrides(runs.Data, output, 2),
            string.Create(Inv, $"model.length={length}"), string.Create(Inv, $"training.batch_size={batch}"), "training.eval_every=1"]);
        CliProcess.AssertOneLineFailure(r, SeddException.BadInput, "valid split");
        Assert.False(Directory.Exists(output), "the run folder was created before the data was checked");
    }

    [Fact]
    public void TrainerCliTest_TrainIntoUnwritableFolder()
    {
        using var t = new TempFolder();
        var blocker = t.Write("blocker", "a file, not a folder");
        var r = CliProcess.Run(t.Path, ["train", .. TinyTraining.Overrides(runs.Data, Path.Combine(blocker, "run"), 2)]);
        CliProcess.AssertOneLineFailure(r, SeddException.Environment, "blocker");
        Assert.Equal("a file, not a folder", File.ReadAllText(blocker));
    }

    [Fact]
    public void TrainerCliTest_TrainRefusesExistingRunWithoutResume()
    {
        var before = Snapshot(runs.Sedd);
        var r = CliProcess.Run(runs.Folder.Path, ["train", .. runs.Overrides(runs.Sedd)]);
        CliProcess.AssertOneLineFailure(r, SeddException.Usage, "--resume");
        AssertUnchanged(before, runs.Sedd);
    }

    // ---- checkpoints that cannot be used ----

    [Fact]
    public void TrainerCliTest_CorruptCheckpoint()
    {
        using var t = new TempFolder();
        var run = CopyRun(runs.Sedd, t.Combine("run"));
        var model = Path.Combine(Checkpoint.Latest(run)!, "model.safetensors");
        var bytes = File.ReadAllBytes(model);
        File.WriteAllBytes(model, bytes[..(bytes.Length - 100)]);
        var before = Snapshot(run);

        var resume = CliProcess.Run(t.Path, ["train", "--resume", .. runs.Overrides(run), "training.steps=20"]);
        CliProcess.AssertOneLineFailure(resume, SeddException.BadInput, "model.safetensors");
        AssertUnchanged(before, run);

        var eval = CliProcess.Run(t.Path, "eval", run, "--samples", "1", "--max-blocks", "1", "--threads", "1");
        CliProcess.AssertOneLineFailure(eval, SeddException.BadInput, "model.safetensors");
        AssertUnchanged(before, run);
    }

    [Fact]
    public void TrainerCliTest_ResumeWithOtherConfig()
    {
        using var t = new TempFolder();
        var run = CopyRun(runs.Sedd, t.Combine("run"));
        var before = Snapshot(run);
        var r = CliProcess.Run(t.Path, ["train", "--resume", .. runs.Overrides(run), "training.steps=20", "model.hidden_size=64"]);
        CliProcess.AssertOneLineFailure(r, SeddException.Usage, "--resume cannot change model.hidden_size (the run has 32, the command line asks for 64)");
        AssertUnchanged(before, run);
    }

    // ---- eval ----

    static JsonObject Eval(string run, string json, string expectedObjective)
    {
        var r = CliProcess.Run(Path.GetDirectoryName(run)!, "eval", run, "--split", "valid", "--samples", "2", "--max-blocks", "4", "--batch", "4", "--threads", "1", "--json", json);
        Assert.True(r.Code == 0, r.ToString());
        var result = JsonNode.Parse(File.ReadAllText(json))!.AsObject();
        Assert.Equal(expectedObjective, (string?)result["objective"]);
        Assert.Equal(4, (int)result["blocks"]!);
        double total = (double)result["diffusion"]! + (double)result["prior"]!;
        Assert.Equal(Math.Exp(total), (double)result["perplexity"]!, 9);
        double se = (double)result["standard_error"]!;
        Assert.Equal(Math.Exp(total - 2 * se), (double)result["perplexity_low"]!, 9);
        Assert.Equal(Math.Exp(total + 2 * se), (double)result["perplexity_high"]!, 9);
        Assert.False(result.ContainsKey("perplexity_interval"), "a tuple would be written as {}");
        result["stdout"] = r.Out;
        return result;
    }

    [Fact]
    public void TrainerCliTest_EvalTakesTheModelAsOptionAndAHugeBatchFits()
    {
        using var t = new TempFolder();
        var json = t.Combine("e.json");
        // The batch is capped at the blocks scored, so a batch of 10⁸ neither allocates 10⁸ rows nor fails.
        var r = CliProcess.Run(t.Path, "eval", "-m", runs.Sedd, "--split", "valid", "--samples", "1", "--max-blocks", "3", "--batch", "100000000", "-t", "1", "-o", json, "-s", "5");
        Assert.True(r.Code == 0, r.ToString());
        Assert.Equal(3, (int)JsonNode.Parse(File.ReadAllText(json))!["blocks"]!);
    }

    [Fact]
    public void TrainerCliTest_EvalSeddPrintsBound()
    {
        using var t = new TempFolder();
        var result = Eval(runs.Sedd, t.Combine("sedd.json"), "sedd");
        Assert.Equal(2, (int)result["samples"]!);
        Assert.True((double)result["prior"]! > 0, "the absorbing prior term ε ln V is positive");
        Assert.True((double)result["standard_error"]! > 0, "two time samples give a Monte-Carlo error");
        double ppl = (double)result["perplexity"]!;
        Assert.Contains(string.Create(Inv, $"perplexity ≤ {ppl:F2}"), (string)result["stdout"]!, StringComparison.Ordinal);
        Assert.DoesNotContain("exact", (string)result["stdout"]!, StringComparison.Ordinal);
    }

    [Fact]
    public void TrainerCliTest_EvalArPrintsExactPerplexity()
    {
        using var t = new TempFolder();
        var result = Eval(runs.Ar, t.Combine("ar.json"), "ar");
        Assert.Equal(1, (int)result["samples"]!);
        Assert.Equal(0, (double)result["standard_error"]!);
        Assert.Equal(0, (double)result["prior"]!);
        double ppl = (double)result["perplexity"]!;
        using var valid = Sedd.Trainer.Data.TokenDataset.Open(runs.Data, Sedd.Trainer.Data.DataSplit.Valid);
        Assert.True(ppl > 1 && ppl < valid.VocabSize, $"AR perplexity {ppl} after {CliRuns.Steps} steps should be below the uniform model's {valid.VocabSize}");
        Assert.Contains(string.Create(Inv, $"perplexity {ppl:F2} (exact)"), (string)result["stdout"]!, StringComparison.Ordinal);
    }
}
