using System.Globalization;
using Sedd.Runtime;
using Sedd.Tests.Shared;
using Sedd.Trainer.Tests.Data;
using Sedd.Trainer.Training;

namespace Sedd.Trainer.Tests.Cli;

/// <summary>
/// SIGTERM (what Ctrl+C, `kill` and service managers send) during a training step that lasts longer than
/// the host's default shutdown grace of 5 s: the step finishes, a checkpoint is written, and the run
/// ends with one "cancelled" line and exit 130. SIGTERM, not SIGINT: a child of a non-interactive parent
/// inherits SIGINT as ignored.
/// </summary>
public class TrainerSignalTest
{
    /// <summary>Sends one SIGTERM and fails unless the process ends within <paramref name="within"/> (killed if not).</summary>
    static void Terminate(System.Diagnostics.Process process, TimeSpan within)
    {
        var kill = ToolProcess.RunExecutable("kill", "-TERM", process.Id.ToString(CultureInfo.InvariantCulture));
        Assert.True(kill.Code == 0, kill.ToString());
        bool stopped = process.WaitForExit(within);
        if (!stopped) process.Kill(entireProcessTree: true);
        Assert.True(stopped, $"sedd-train did not stop within {within.TotalSeconds} s of SIGTERM");
        process.WaitForExit(); // the redirected streams are complete
    }

    [Fact]
    public async Task TrainerSignalTest_SigtermDuringALongStepWritesACheckpointAndExits130()
    {
        if (!OperatingSystem.IsLinux()) return;
        using var t = new TempFolder();
        var data = TinyTraining.PrepareCorpus(t);
        var run = t.Combine("run");
        // A model wide enough that one step on one thread takes several seconds (~0.3 TFLOP per step).
        string[] args =
        [
            "train", .. TinyTraining.Overrides(data, run, 1000),
            "model.hidden_size=768", "model.n_blocks=8", "model.n_heads=4", "model.cond_dim=64", "model.length=128", "training.batch_size=8",
        ];
        var dll = Path.Combine(AppContext.BaseDirectory, "sedd-train.dll");
        using var process = ToolProcess.Start(dll, t.Path, null, args);
        var stderr = process.StandardError.ReadToEndAsync();
        var stdout = new System.Text.StringBuilder();
        // The model line is printed just before the first step starts.
        while (process.StandardOutput.ReadLine() is { } line)
        {
            stdout.AppendLine(line);
            if (line.Contains("parameters,", StringComparison.Ordinal)) break;
        }
        var started = DateTime.UtcNow;
        Thread.Sleep(500);
        var rest = process.StandardOutput.ReadToEndAsync();
        Terminate(process, TimeSpan.FromMinutes(3));
        var seconds = (DateTime.UtcNow - started).TotalSeconds;
        var r = new ToolResult(process.ExitCode, stdout + await rest, await stderr);

        CliProcess.AssertOneLineFailure(r, SeddException.Cancelled, "cancelled");
        var checkpoints = Checkpoint.All(run);
        Assert.True(checkpoints.Length == 1, $"expected the interrupted checkpoint ({seconds:F1} s after the signal); {r}");
        var state = Checkpoint.Load(checkpoints[0]).State;
        Assert.True(state.Step >= 1, $"checkpoint at step {state.Step}; {r}");
        Assert.Contains("interrupted", r.Out, StringComparison.Ordinal);
    }

    [Fact]
    public async Task TrainerSignalTest_SigtermStopsAnEvaluationBetweenForwardPasses()
    {
        if (!OperatingSystem.IsLinux()) return;
        using var t = new TempFolder();
        var data = TinyTraining.PrepareCorpus(t);
        var run = t.Combine("run");
        var train = CliProcess.Run(t.Path, ["train", .. TinyTraining.Overrides(data, run, 1)]);
        Assert.True(train.Code == 0, train.ToString());
        // K = 10⁷ time samples: hours of work, unless the signal stops it.
        var dll = Path.Combine(AppContext.BaseDirectory, "sedd-train.dll");
        using var process = ToolProcess.Start(dll, t.Path, null, ["eval", run, "--samples", "10000000", "--threads", "1"]);
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        // libtorch is loaded inside the command, after the host and its signal handling are in place.
        var maps = $"/proc/{process.Id}/maps";
        for (int i = 0; i < 600 && !process.HasExited; i++)
        {
            try { if (File.ReadAllText(maps).Contains("libtorch", StringComparison.Ordinal)) break; }
            catch (IOException) { }
            await Task.Delay(100);
        }
        await Task.Delay(1000);
        Terminate(process, TimeSpan.FromMinutes(1));
        CliProcess.AssertOneLineFailure(new ToolResult(process.ExitCode, await stdout, await stderr), SeddException.Cancelled, "cancelled");
    }

    /// <summary>Starts sedd-train, waits until a line of stdout contains <paramref name="ready"/> (or, when null, until libtorch or the tokenizer works), sends SIGTERM and returns the result.</summary>
    static async Task<(ToolResult Result, double Seconds)> TerminateWhen(string folder, string? ready, params string[] args)
    {
        var dll = Path.Combine(AppContext.BaseDirectory, "sedd-train.dll");
        using var process = ToolProcess.Start(dll, folder, null, args);
        var stderr = process.StandardError.ReadToEndAsync();
        var stdout = new System.Text.StringBuilder();
        if (ready != null)
        {
            while (process.StandardOutput.ReadLine() is { } line)
            {
                stdout.AppendLine(line);
                if (line.Contains(ready, StringComparison.Ordinal)) break;
            }
        }
        else
        {
            // The tokenizer's assembly is loaded when prepare starts reading the corpus, long after the
            // signal handlers are in place; a fixed delay failed on a loaded machine (the signal came first).
            var maps = $"/proc/{process.Id}/maps";
            for (int i = 0; i < 600 && !process.HasExited; i++)
            {
                try { if (File.ReadAllText(maps).Contains("Microsoft.ML.Tokenizers", StringComparison.Ordinal)) break; }
                catch (IOException) { }
                await Task.Delay(100);
            }
            await Task.Delay(500);
        }
        var rest = process.StandardOutput.ReadToEndAsync();
        var signalled = DateTime.UtcNow;
        Terminate(process, TimeSpan.FromSeconds(60));
        var seconds = (DateTime.UtcNow - signalled).TotalSeconds;
        return (new ToolResult(process.ExitCode, stdout + await rest, await stderr), seconds);
    }

    [Fact]
    public async Task TrainerSignalTest_SigtermStopsABenchmarkBetweenSteps()
    {
        if (!OperatingSystem.IsLinux()) return;
        using var t = new TempFolder();
        var data = TinyTraining.PrepareCorpus(t);
        var (r, seconds) = await TerminateWhen(t.Path, "step 3/", ["bench", .. TinyTraining.Overrides(data, t.Combine("run"), 2), "--steps", "100000", "--seconds", "0", "--precisions", "fp32"]);
        CliProcess.AssertOneLineFailure(r, SeddException.Cancelled, "cancelled");
        Assert.True(seconds < 20, $"bench took {seconds:F1} s to stop");
    }

    [Fact]
    public async Task TrainerSignalTest_SigtermStopsAPrepareAndLeavesNothingHalfWritten()
    {
        if (!OperatingSystem.IsLinux()) return;
        using var t = new TempFolder();
        // About 40 MB of text: many seconds of tokenizing on any machine.
        var paragraph = string.Concat(Enumerable.Repeat("The quick brown fox jumps over the lazy dog near the riverbank at dawn. ", 280));
        for (int i = 0; i < 2000; i++)
            t.Write(string.Create(CultureInfo.InvariantCulture, $"corpus/doc{i:D4}.txt"), paragraph);
        var (r, seconds) = await TerminateWhen(t.Path, null, "prepare", "--corpus", t.Combine("corpus"), "-o", t.Combine("out"), "--tokenizer", "gpt2");
        Assert.True(r.Code != 0, $"prepare finished before the signal; the test corpus is too small for this machine. {r}");
        CliProcess.AssertOneLineFailure(r, SeddException.Cancelled, "cancelled");
        Assert.True(seconds < 20, $"prepare took {seconds:F1} s to stop");
        Assert.True(!Directory.Exists(t.Combine("out")) || Directory.GetFiles(t.Combine("out"), "*", SearchOption.AllDirectories).Length == 0,
            "a cancelled prepare left files: " + string.Join(", ", Directory.Exists(t.Combine("out")) ? Directory.GetFiles(t.Combine("out")) : []));
    }

    [Fact]
    public async Task TrainerSignalTest_SigtermStopsAQuickstartWithACheckpoint()
    {
        if (!OperatingSystem.IsLinux()) return;
        using var t = new TempFolder();
        // Enough text for quickstart's batch of 16 blocks of 128 tokens.
        for (int i = 0; i < 40; i++)
            t.Write(string.Create(CultureInfo.InvariantCulture, $"corpus/doc{i:D2}.txt"),
                string.Concat(Enumerable.Repeat(string.Create(CultureInfo.InvariantCulture, $"Document {i} tells its story, line after line. "), 150)));
        var data = t.Combine("data");
        var prepare = CliProcess.Run(t.Path, "prepare", "--corpus", t.Combine("corpus"), "-o", data, "--tokenizer", TinyTraining.Tokenizer);
        Assert.True(prepare.Code == 0, prepare.ToString());
        var run = t.Combine("quick");
        var (r, seconds) = await TerminateWhen(t.Path, "parameters,", "quickstart", "--data", data, "-o", run, "--minutes", "30", "-t", "1");
        CliProcess.AssertOneLineFailure(r, SeddException.Cancelled, "cancelled");
        Assert.True(seconds < 60, $"quickstart took {seconds:F1} s to stop");
        Assert.Contains("training for 30 minutes", r.Out, StringComparison.Ordinal);
        Assert.DoesNotContain("/100000", r.Out, StringComparison.Ordinal);
        Assert.Single(Checkpoint.All(run));
    }
}
