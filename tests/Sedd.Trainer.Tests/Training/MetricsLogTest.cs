using System.Text.Json.Nodes;
using Sedd.Runtime;
using Sedd.Trainer.Tests.Data;
using Sedd.Trainer.Training;

namespace Sedd.Trainer.Tests.Training;

/// <summary>metrics.jsonl is append-only: resumes add a marker, readers see each step once, a full disk is one line (exit 3).</summary>
public class MetricsLogTest
{
    static JsonObject Train(long step, double loss) => new() { ["step"] = step, ["kind"] = "train", ["nats_per_token"] = loss };

    [Fact]
    public void MetricsLogTest_ResumeAppendsAndReadersDropTheRedoneSteps()
    {
        using var t = new TempFolder();
        var path = t.Combine("metrics.jsonl");
        using (var log = new MetricsLog(path, resumeFrom: null))
            for (int s = 1; s <= 6; s++) log.Write(Train(s, 10 - s));
        var firstRun = File.ReadAllBytes(path);

        // The crashed run's last checkpoint was step 4; the resumed run redoes 5 and 6 with other values.
        using (var log = new MetricsLog(path, resumeFrom: 4))
            for (int s = 5; s <= 8; s++) log.Write(Train(s, 100 + s));

        var bytes = File.ReadAllBytes(path);
        Assert.True(bytes.AsSpan().StartsWith(firstRun), "metrics.jsonl was rewritten; it may only be appended to");
        Assert.Equal(6 + 1 + 4, File.ReadAllLines(path).Length);
        var records = MetricsLog.Records(path);
        Assert.Equal([1L, 2, 3, 4, 5, 6, 7, 8], records.Select(r => (long)r["step"]!));
        Assert.Equal([105.0, 106, 107, 108], records.Skip(4).Select(r => (double)r["nats_per_token"]!));
        var (steps, values) = MetricsLog.Series(path, "train", "nats_per_token");
        Assert.Equal(8, steps.Length);
        Assert.Equal(9, values[0]);
    }

    [Fact]
    public void MetricsLogTest_ALineCutOffByACrashDoesNotSwallowTheNext()
    {
        using var t = new TempFolder();
        var path = t.Write("metrics.jsonl", "{\"step\":1,\"kind\":\"train\"}\n{\"step\":2,\"ki");
        using (var log = new MetricsLog(path, resumeFrom: 1))
            log.Write(Train(2, 3));
        Assert.Equal([1L, 2], MetricsLog.Records(path).Select(r => (long)r["step"]!));
        Assert.StartsWith("{\"step\":1,\"kind\":\"train\"}\n{\"step\":2,\"ki\n", File.ReadAllText(path), StringComparison.Ordinal);
    }

    [Fact]
    public void MetricsLogTest_AFullDiskIsAnEnvironmentErrorInOneLine()
    {
        using var t = new TempFolder();
        var path = t.Combine("metrics.jsonl");
        using var log = new MetricsLog(path, new FullDiskStream());
        var e = Assert.Throws<SeddException>(() => log.Write(Train(1, 1)));
        Assert.Equal(SeddException.Environment, e.ExitCode);
        Assert.Contains("disk is full", e.Message, StringComparison.Ordinal);
        Assert.Contains("--resume", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task MetricsLogTest_AMetricsFileThatIsNotRegularIsRefused()
    {
        if (!OperatingSystem.IsLinux()) return;
        using var t = new TempFolder();
        var fifo = t.Combine("metrics.jsonl");
        Assert.Equal(0, Sedd.Tests.Shared.ToolProcess.RunExecutable("mkfifo", fifo).Code);
        var open = await Within.Seconds(20, "opening a FIFO as metrics.jsonl", () => Assert.Throws<SeddException>(() => new MetricsLog(fifo, resumeFrom: 3)));
        var read = await Within.Seconds(20, "reading a FIFO as metrics.jsonl", () => Assert.Throws<SeddException>(() => MetricsLog.Records(fifo)));
        Assert.Equal(SeddException.BadInput, open.ExitCode);
        Assert.Contains("FIFO", read.Message, StringComparison.Ordinal);
    }
}

/// <summary>A stream whose every write fails as a full disk does (ENOSPC).</summary>
sealed class FullDiskStream : MemoryStream
{
    public override void Write(ReadOnlySpan<byte> buffer) => throw new IOException("No space left on device", 28);

    public override void Write(byte[] buffer, int offset, int count) => throw new IOException("No space left on device", 28);
}
