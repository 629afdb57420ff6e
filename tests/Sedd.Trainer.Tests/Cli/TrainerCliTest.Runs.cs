using System.Text.Json.Nodes;
using Sedd.Runtime;
using Sedd.Trainer.Tests.Data;
using Sedd.Trainer.Training;

namespace Sedd.Trainer.Tests.Cli;

/// <summary>
/// sedd-train's run folders and options at the command line: resuming with only what changes, starting over
/// without losing the earlier run, folders that are not runs, limits refused before anything is written,
/// and help that speaks to users.
/// </summary>
public partial class TrainerCliTest
{
    [Fact]
    public void TrainerCliTest_ResumeNeedsOnlyTheOverridesThatChange()
    {
        using var t = new TempFolder();
        var run = CopyRun(runs.Sedd, t.Combine("run"));
        var metrics = File.ReadAllBytes(Path.Combine(run, "metrics.jsonl"));
        // The run's config file edited in one value: the run's own value is kept, and the note says so.
        var edited = JsonNode.Parse(File.ReadAllText(Path.Combine(run, "config.json")))!;
        edited["output"] = run;
        edited["optim"]!["lr"] = 0.5;
        var config = t.Write("c.json", edited.ToJsonString());
        var r = CliProcess.Run(t.Path, "train", "--resume", "--config", config, "training.steps=12", "-t", "1");
        Assert.True(r.Code == 0, r.ToString());
        Assert.Contains("done: step 12", r.Out, StringComparison.Ordinal);
        Assert.Contains("differs in optim.lr, which keep", r.Out, StringComparison.Ordinal);
        var resumed = Checkpoint.Load(run);
        Assert.Equal(12, resumed.State.Step);
        Assert.Equal(12, resumed.Config.Training.Steps);
        Assert.Equal(3e-3, resumed.Config.Optim.Lr); // the run's, not the file's
        Assert.Equal(32, resumed.Config.Model.HiddenSize);
        Assert.True(File.ReadAllBytes(Path.Combine(run, "metrics.jsonl")).AsSpan().StartsWith(metrics), "metrics.jsonl was rewritten on resume");

        // -o alone names the run; a fixed key given again with the same value is fine.
        r = CliProcess.Run(t.Path, "train", "--resume", "-o", run, "training.steps=14", "model.hidden_size=32");
        Assert.True(r.Code == 0, r.ToString());
        Assert.Equal(14, Checkpoint.Load(run).State.Step);
    }

    [Fact]
    public void TrainerCliTest_StartOverKeepsTheEarlierRunWhole()
    {
        using var t = new TempFolder();
        var run = CopyRun(runs.Sedd, t.Combine("run"));
        var before = Snapshot(run);
        var r = CliProcess.Run(t.Path, ["train", .. runs.Overrides(run), "training.steps=2", "training.checkpoint_every=2", "--start-over"]);
        Assert.True(r.Code == 0, r.ToString());
        var previous = Directory.GetDirectories(Path.Combine(run, "previous")).Single();
        foreach (var (file, bytes) in before)
        {
            var moved = Path.Combine(previous, Path.GetRelativePath(run, file));
            Assert.True(File.Exists(moved) && File.ReadAllBytes(moved).AsSpan().SequenceEqual(bytes), $"{file} was not kept as {moved}");
        }
        Assert.Equal(["step-00000002"], Checkpoint.All(run).Select(Path.GetFileName));
        Assert.Equal(2, MetricsLog.Records(Path.Combine(run, "metrics.jsonl")).Count(x => (string?)x["kind"] == "train"));
    }

    [Fact]
    public void TrainerCliTest_TrainNeverWritesIntoAFolderThatIsNotARun()
    {
        using var t = new TempFolder();
        t.Write("hub/config.json", """{"model": {"hidden_size": 768}, "tokens": 50257}""");
        t.Write("hub/pytorch_model.bin", "weights");
        var before = Snapshot(t.Combine("hub"));
        foreach (var flag in new[] { "--start-over", "--resume" })
        {
            var r = CliProcess.Run(t.Path, ["train", .. TinyTraining.Overrides(runs.Data, t.Combine("hub"), 2), flag]);
            CliProcess.AssertOneLineFailure(r, SeddException.Usage, "config.json");
        }
        AssertUnchanged(before, t.Combine("hub"));
    }

    // ---- limits: memory, threads, empty paths ----

    [Theory]
    [InlineData(SeddException.Usage, "memory", "model.hidden_size=65536", "model.n_heads=2")]
    [InlineData(SeddException.Usage, "at most", "training.threads=100000")]
    [InlineData(SeddException.Usage, "--output needs a path", "-o", "")]
    [InlineData(SeddException.Usage, "--init needs a path", "--init", "")]
    [InlineData(SeddException.Usage, "--config needs a path", "--config", "")]
    [InlineData(SeddException.Usage, "--threads", "--threads", "100000")]
    [InlineData(SeddException.Usage, "optim.beta1", "optim.beta1=2")]
    public void TrainerCliTest_TrainRefusesWhatCannotWorkBeforeWriting(int code, string expected, params string[] args)
    {
        using var t = new TempFolder();
        var output = t.Combine("run");
        var r = CliProcess.Run(t.Path, ["train", .. TinyTraining.Overrides(runs.Data, output, 2), .. args]);
        CliProcess.AssertOneLineFailure(r, code, expected);
        Assert.False(Directory.Exists(output), "the run folder was created before the mistake was found");
    }

    [Theory]
    [InlineData("eval", "")]
    [InlineData("eval", "-m", "")]
    [InlineData("eval", "RUN", "--data", "")]
    [InlineData("eval", "RUN", "-o", "")]
    [InlineData("eval", "RUN", "-o", "/dev/null")]
    [InlineData("eval", "RUN", "--threads", "100000")]
    [InlineData("eval", "RUN", "-m", "OTHER")]
    [InlineData("prepare", "--corpus", "", "-o", "out")]
    [InlineData("prepare", "--corpus", "x", "-o", "")]
    [InlineData("bench", "--precisions", "fp16")]
    [InlineData("quickstart", "--minutes", "NaN")]
    public void TrainerCliTest_EmptyPathsAndBadOptionsAreUsageErrors(params string[] args)
    {
        using var t = new TempFolder();
        string[] resolved = [.. args.Select(a => a == "RUN" ? runs.Sedd : a == "OTHER" ? runs.Ar : a)];
        var r = CliProcess.Run(t.Path, resolved);
        Assert.True(r.Code == SeddException.Usage, $"expected exit 1; {r}");
        Assert.Single(r.Err.Split('\n', StringSplitOptions.RemoveEmptyEntries));
        Assert.Empty(Directory.GetFileSystemEntries(t.Path));
    }

    [Fact]
    public void TrainerCliTest_HelpSpeaksToUsers()
    {
        using var t = new TempFolder();
        foreach (var command in new[] { "prepare", "train", "eval", "bench", "quickstart", "config" })
        {
            var r = CliProcess.Run(t.Path, command, "--help");
            Assert.True(r.Code == 0, r.ToString());
            Assert.DoesNotContain("spec §", r.Out, StringComparison.Ordinal);
            Assert.DoesNotContain("issue", r.Out, StringComparison.OrdinalIgnoreCase);
            Assert.Contains($"Usage: sedd-train {command}", r.Out, StringComparison.Ordinal);
        }
        Assert.Contains("-m, --model", CliProcess.Run(t.Path, "eval", "--help").Out, StringComparison.Ordinal);
        Assert.Contains("-o, --output", CliProcess.Run(t.Path, "train", "--help").Out, StringComparison.Ordinal);
        var config = CliProcess.Run(t.Path, "config");
        Assert.True(config.Code == 0, config.ToString());
        Assert.Contains("training.batch_size = 32", config.Out, StringComparison.Ordinal);
    }

    [Fact]
    public void TrainerCliTest_ResumeWithoutCheckpoint()
    {
        using var t = new TempFolder();
        var r = CliProcess.Run(t.Path, ["train", "--resume", .. TinyTraining.Overrides(runs.Data, t.Combine("run"), 2)]);
        CliProcess.AssertOneLineFailure(r, SeddException.BadInput, "no checkpoint");
    }
}
