using System.Diagnostics;
using System.Globalization;
using System.Reflection;
using Sedd.Tests;
using Sedd.Tests.Shared;

namespace Sedd.Benchmarks.Tests;

/// <summary>The built benchmark tools as child processes, and the signal helper their tests share.</summary>
static class BenchmarkTools
{
    public static string Evidence { get; } = Dll("SeddEvidence");

    public static string Compare { get; } = Dll("SeddCompare");

    /// <summary>The default model package of the repository.</summary>
    public static string Model { get; } = Path.Combine(Goldens.RepoRoot, "models", "sedd-brown-5m");

    static string Dll(string key) => Path.GetFullPath(typeof(BenchmarkTools).Assembly.GetCustomAttributes<AssemblyMetadataAttribute>().Single(a => a.Key == key).Value!);

    /// <summary>Runs a tool from the repository root to its end.</summary>
    public static ToolResult Run(string dll, params string[] args) => ToolProcess.Run(dll, Goldens.RepoRoot, null, args);

    /// <summary>
    /// Starts the tool, waits until a stderr or stdout line contains <paramref name="ready"/>, sends one
    /// SIGTERM (Ctrl+C's handler; a child of a non-interactive parent inherits SIGINT as ignored) and
    /// returns what it printed and how many seconds it took to stop (killed after <paramref name="within"/>).
    /// </summary>
    public static (ToolResult Result, double Seconds) Terminate(string dll, string ready, TimeSpan within, params string[] args)
    {
        using var process = ToolProcess.Start(dll, Goldens.RepoRoot, null, args);
        var seen = new TaskCompletionSource();
        var err = new System.Text.StringBuilder();
        var @out = new System.Text.StringBuilder();
        void Watch(StreamReader reader, System.Text.StringBuilder into)
        {
            while (reader.ReadLine() is { } line)
            {
                lock (into) into.AppendLine(line);
                if (line.Contains(ready, StringComparison.Ordinal)) seen.TrySetResult();
            }
        }
        var readers = new[] { Task.Run(() => Watch(process.StandardError, err)), Task.Run(() => Watch(process.StandardOutput, @out)) };
        bool isReady = seen.Task.Wait(TimeSpan.FromMinutes(3));
        if (!isReady || process.HasExited)
        {
            if (!process.HasExited) process.Kill(entireProcessTree: true);
            process.WaitForExit();
            Task.WaitAll(readers);
            Assert.Fail($"never saw '{ready}'; {new ToolResult(process.ExitCode, @out.ToString(), err.ToString())}");
        }
        var kill = ToolProcess.RunExecutable("kill", "-TERM", process.Id.ToString(CultureInfo.InvariantCulture));
        Assert.True(kill.Code == 0, kill.ToString());
        var clock = Stopwatch.StartNew();
        bool stopped = process.WaitForExit(within);
        double seconds = clock.Elapsed.TotalSeconds;
        if (!stopped) process.Kill(entireProcessTree: true);
        process.WaitForExit();
        Task.WaitAll(readers);
        var result = new ToolResult(process.ExitCode, @out.ToString(), err.ToString());
        Assert.True(stopped, $"did not stop within {within.TotalSeconds} s of SIGTERM; {result}");
        return (result, seconds);
    }

    /// <summary>Fails unless the run ended with exit 130 and its last stderr line is "tool: cancelled".</summary>
    public static void AssertCancelled(ToolResult r, string tool)
    {
        Assert.True(r.Code == 130, $"expected exit 130; {r}");
        var last = r.Err.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).Last();
        Assert.Equal($"{tool}: cancelled", last);
        Assert.DoesNotContain("   at ", r.Err, StringComparison.Ordinal);
    }
}
