using Sedd.Runtime;
using Sedd.Trainer.Tests.Data;
using Sedd.Trainer.Training;

namespace Sedd.Trainer.Tests.Training;

/// <summary>
/// A run folder's contents are never lost: a new run needs a new or empty folder; --start-over moves an
/// earlier run aside (nothing deleted, no log truncated); a folder that is not a sedd-train run is never written.
/// </summary>
public class RunFolderTest
{
    static Dictionary<string, byte[]> Snapshot(string folder) =>
        Directory.GetFiles(folder, "*", SearchOption.AllDirectories).ToDictionary(f => Path.GetRelativePath(folder, f), File.ReadAllBytes);

    /// <summary>An earlier run's files as the trainer leaves them: config, 44 metrics lines, a plot, a checkpoint.</summary>
    static string EarlierRun(TempFolder t)
    {
        var run = t.Combine("run");
        t.Write("run/config.json", ConfigLoader.ToJson(new TrainConfig { Output = run }));
        t.Write("run/metrics.jsonl", string.Concat(Enumerable.Range(1, 44).Select(i => $"{{\"step\":{i},\"kind\":\"train\",\"nats_per_token\":5}}\n")));
        t.Write("run/loss.png", "png bytes");
        t.Write("run/checkpoints/step-00000040/state.json", "{}");
        t.Write("run/checkpoints/latest", "step-00000040");
        return run;
    }

    static SeddException Refused(string folder, RunStart start)
    {
        var e = Assert.Throws<SeddException>(() => RunFolder.Check(folder, start));
        Assert.DoesNotContain('\n', e.Message);
        return e;
    }

    [Fact]
    public void RunFolderTest_NewOrEmptyFoldersAreFine()
    {
        using var t = new TempFolder();
        RunFolder.Check(t.Combine("new"), RunStart.New);
        RunFolder.Check(t.Path, RunStart.New);
        RunFolder.Check(t.Path, RunStart.StartOver);
        Assert.Null(RunFolder.MoveAside(t.Path, TextWriter.Null));
    }

    [Fact]
    public void RunFolderTest_ANewRunIntoAnEarlierRunIsRefused()
    {
        using var t = new TempFolder();
        var run = EarlierRun(t);
        var before = Snapshot(run);
        var e = Refused(run, RunStart.New);
        Assert.Equal(SeddException.Usage, e.ExitCode);
        Assert.Contains("--resume", e.Message, StringComparison.Ordinal);
        Assert.Contains("--start-over", e.Message, StringComparison.Ordinal);
        Assert.Contains("step-00000040", e.Message, StringComparison.Ordinal);
        RunFolder.Check(run, RunStart.Resume);
        Assert.Equal(before, Snapshot(run));

        // A run killed before its first checkpoint (metrics, no checkpoint) is a run too.
        Directory.Delete(Path.Combine(run, "checkpoints"), recursive: true);
        Assert.Contains("no checkpoint", Refused(run, RunStart.New).Message, StringComparison.Ordinal);
    }

    [Fact]
    public void RunFolderTest_StartOverMovesTheEarlierRunAsideWhole()
    {
        using var t = new TempFolder();
        var run = EarlierRun(t);
        t.Write("run/notes.txt", "my notes");
        var before = Snapshot(run);
        RunFolder.Check(run, RunStart.StartOver);
        var log = new StringWriter();
        var moved = RunFolder.MoveAside(run, log);
        Assert.NotNull(moved);
        Assert.StartsWith(Path.Combine(run, RunFolder.PreviousFolder), moved, StringComparison.Ordinal);
        Assert.Contains(moved, log.ToString(), StringComparison.Ordinal);
        // Every byte is still there: the run's files under previous/<time>/, other files where they were.
        var after = Snapshot(run);
        Assert.Equal(before.Count, after.Count);
        foreach (var (file, bytes) in before)
        {
            var now = file == "notes.txt" ? file : Path.Combine(Path.GetRelativePath(run, moved!), file);
            Assert.True(after.TryGetValue(now, out var b) && b.AsSpan().SequenceEqual(bytes), $"{file} was not kept as {now}");
        }
        Assert.Equal(44, File.ReadAllLines(Path.Combine(moved!, "metrics.jsonl")).Length);
        // The folder holds no run any more; a second start-over keeps both earlier runs.
        Assert.False(RunFolder.IsRun(run));
        Assert.Equal(["notes.txt", RunFolder.PreviousFolder], Directory.EnumerateFileSystemEntries(run).Select(Path.GetFileName).Order(StringComparer.Ordinal));
        EarlierRun(t);
        var second = RunFolder.MoveAside(run, TextWriter.Null);
        Assert.NotEqual(moved, second);
        Assert.True(File.Exists(Path.Combine(moved!, "config.json")) && File.Exists(Path.Combine(second!, "config.json")));
    }

    [Fact]
    public void RunFolderTest_FoldersThatAreNotRunsAreNeverWritten()
    {
        using var t = new TempFolder();
        // The authors' hub layout: config.json of another format beside the weights.
        var hub = t.Combine("hub");
        t.Write("hub/config.json", """{"model": {"hidden_size": 768, "n_heads": 12}, "tokens": 50257, "graph": {"type": "absorb"}}""");
        t.Write("hub/model.safetensors", "weights");
        var before = Snapshot(hub);
        foreach (var start in new[] { RunStart.New, RunStart.StartOver, RunStart.Resume })
        {
            var e = Refused(hub, start);
            Assert.Equal(SeddException.Usage, e.ExitCode);
            Assert.Contains("config.json", e.Message, StringComparison.Ordinal);
        }
        Assert.Null(RunFolder.MoveAside(hub, TextWriter.Null));
        Assert.Equal(before, Snapshot(hub));

        // Any other files and no run: refused for a new run and for --start-over alike.
        var mine = t.Combine("mine");
        t.Write("mine/metrics.jsonl", "not ours\n");
        foreach (var start in new[] { RunStart.New, RunStart.StartOver })
            Assert.Contains("holds no sedd-train run", Refused(mine, start).Message, StringComparison.Ordinal);
        Assert.Equal("not ours\n", File.ReadAllText(Path.Combine(mine, "metrics.jsonl")));

        // A file where the folder should be.
        var file = t.Write("afile", "x");
        Assert.Equal(SeddException.Environment, Refused(file, RunStart.New).ExitCode);
        Assert.Equal(SeddException.Usage, Refused("", RunStart.New).ExitCode);
    }
}
