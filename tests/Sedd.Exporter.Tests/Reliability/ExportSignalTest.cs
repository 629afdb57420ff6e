using System.Diagnostics;
using System.Globalization;
using Sedd.Runtime;
using Sedd.Runtime.Package;
using Sedd.Tests.Shared;

namespace Sedd.Tests;

/// <summary>
/// The built sedd-export under signals, as a user meets it. SIGTERM (what Ctrl+C, kill and service
/// managers send; a non-interactive parent's children ignore SIGINT) during verification of a --force
/// export: one "cancelled" line within seconds, exit 130, the old package untouched, nothing left beside
/// it. SIGKILL at several moments of a --force export: --out always holds a complete package, and the
/// next export into the folder removes what the killed one left.
/// </summary>
public sealed class ExportSignalTest : IDisposable
{
    readonly string root = Directory.CreateTempSubdirectory("sedd-export-signal-").FullName;

    static string Dll => Path.Combine(AppContext.BaseDirectory, "sedd-export.dll");

    string Out => Path.Combine(root, "pkg");

    // A full GPT-2 vocabulary and 128 positions: the check's 36 forward passes take seconds, not milliseconds.
    string Slow => field ??= Path.GetDirectoryName(Path.GetDirectoryName(TinyCheckpoints.Create(Path.Combine(root, "slow"), "absorb", tokens: 50257, length: 128, hidden: 64)))!;

    [Fact]
    public async Task ExportSignal_SigtermDuringVerification_Exits130AndKeepsTheOldPackage()
    {
        if (!OperatingSystem.IsLinux()) return;
        var old = TinyCheckpoints.Create(Path.Combine(root, "old"), "uniform");
        Assert.Equal(0, ToolProcess.Run(Dll, root, null, old, "--out", Out).Code);
        var before = FolderSnapshot.Of(Out);

        using var process = ToolProcess.Start(Dll, root, null, [Slow, "--out", Out, "--force"]);
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        await WaitForLibTorch(process);
        await Task.Delay(300);
        Assert.False(process.HasExited, "the export finished before the signal; the test needs a slower model");
        var clock = Stopwatch.StartNew();
        Signal("TERM", process);
        bool stopped = process.WaitForExit(TimeSpan.FromSeconds(30));
        if (!stopped) process.Kill(entireProcessTree: true);
        Assert.True(stopped, "sedd-export did not stop within 30 s of SIGTERM");
        process.WaitForExit();
        var r = new ToolResult(process.ExitCode, await stdout, await stderr);
        ToolProcess.AssertOneLineFailure(r, "sedd-export", SeddException.Cancelled, quietStdout: true, "cancelled");
        Assert.True(clock.Elapsed < TimeSpan.FromSeconds(10), $"stopping took {clock.Elapsed.TotalSeconds:F1} s");
        Assert.Equal(before, FolderSnapshot.Of(Out));
        Assert.Empty(FolderSnapshot.Leftovers(root));
    }

    [Fact]
    public async Task ExportSignal_SigkillAtAnyMoment_LeavesAPackage_AndTheNextExportCleansUp()
    {
        if (!OperatingSystem.IsLinux()) return;
        var old = TinyCheckpoints.Create(Path.Combine(root, "old"), "uniform");
        Assert.Equal(0, ToolProcess.Run(Dll, root, null, old, "--out", Out).Code);
        foreach (int delay in new[] { 0, 700, 1500 })
        {
            using var process = ToolProcess.Start(Dll, root, null, [Slow, "--out", Out, "--force"]);
            _ = process.StandardOutput.ReadToEndAsync();
            _ = process.StandardError.ReadToEndAsync();
            await WaitForLibTorch(process);
            await Task.Delay(delay);
            Signal("KILL", process);
            process.WaitForExit();
            ModelPackage.Open(Out);   // old or new, but complete
        }
        // Another export into the same folder finishes or rolls back what the killed ones left.
        var other = ToolProcess.Run(Dll, root, null, old, "--out", Path.Combine(root, "other"));
        Assert.True(other.Code == 0, other.ToString());
        Assert.Empty(FolderSnapshot.Leftovers(root));
        ModelPackage.Open(Out);
    }

    // libtorch is loaded for the verification, after the package's files are written.
    static async Task WaitForLibTorch(Process process)
    {
        var maps = $"/proc/{process.Id}/maps";
        for (int i = 0; i < 1200 && !process.HasExited; i++)
        {
            try { if (File.ReadAllText(maps).Contains("libtorch", StringComparison.Ordinal)) return; }
            catch (IOException) { }
            await Task.Delay(50);
        }
    }

    static void Signal(string signal, Process process)
    {
        var kill = ToolProcess.RunExecutable("kill", "-" + signal, process.Id.ToString(CultureInfo.InvariantCulture));
        Assert.True(kill.Code == 0, kill.ToString());
    }

    public void Dispose() => Directory.Delete(root, recursive: true);
}
