using System.Diagnostics;
using System.Text;

namespace Sedd.Tests.Shared;

/// <summary>Exit code and the two streams of one child-process run.</summary>
sealed record ToolResult(int Code, string Out, string Err)
{
    public override string ToString() => $"exit {Code}\n--- stdout\n{Out}\n--- stderr\n{Err}";
}

/// <summary>
/// Runs a built Sedd tool (<c>sedd</c>, <c>sedd-train</c>, <c>sedd-export</c>) as a child process, so a
/// test sees exactly what a user sees: the exit code, stdout and stderr of a fresh process, Cocona's host
/// included. Linked into every test project (tests/Shared).
/// </summary>
static class ToolProcess
{
    static readonly TimeSpan Timeout = TimeSpan.FromMinutes(2);

    /// <summary>Starts <c>dotnet <paramref name="dll"/> args</c> with both streams redirected and the user's debug switches removed.</summary>
    public static Process Start(string dll, string workingDirectory, IReadOnlyDictionary<string, string>? environment, IEnumerable<string> args)
    {
        Assert.True(File.Exists(dll), $"{dll} not found: the test project must reference (and so build) its tool");
        var start = new ProcessStartInfo(Environment.GetEnvironmentVariable("DOTNET_HOST_PATH") ?? "dotnet")
        {
            WorkingDirectory = workingDirectory,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            StandardOutputEncoding = Encoding.UTF8,
            StandardErrorEncoding = Encoding.UTF8,
            UseShellExecute = false,
        };
        start.ArgumentList.Add(dll);
        foreach (var a in args) start.ArgumentList.Add(a);
        start.Environment.Remove("SEDD_DEBUG"); // the one-line error path is what users get
        start.Environment.Remove("SEDD_MODEL");
        if (environment != null)
            foreach (var (k, v) in environment) start.Environment[k] = v;
        return Process.Start(start)!;
    }

    /// <summary>Runs the tool to its end (at most two minutes) and returns what it printed.</summary>
    public static ToolResult Run(string dll, string workingDirectory, IReadOnlyDictionary<string, string>? environment, params string[] args)
    {
        using var process = Start(dll, workingDirectory, environment, args);
        return Finish(process, $"{Path.GetFileNameWithoutExtension(dll)} {string.Join(' ', args)}");
    }

    /// <summary>Runs any executable (not a .NET tool) to its end and returns what it printed.</summary>
    public static ToolResult RunExecutable(string exe, params string[] args)
    {
        var start = new ProcessStartInfo(exe) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var a in args) start.ArgumentList.Add(a);
        using var process = Process.Start(start)!;
        return Finish(process, exe);
    }

    static ToolResult Finish(Process process, string what)
    {
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        if (!process.WaitForExit(Timeout))
        {
            process.Kill(entireProcessTree: true);
            throw new TimeoutException($"{what} did not finish within {Timeout.TotalSeconds} s");
        }
        process.WaitForExit();
        return new(process.ExitCode, stdout.Result, stderr.Result);
    }

    /// <summary>
    /// Fails unless the run exited with <paramref name="code"/> and printed exactly one "<paramref name="tool"/>: ..."
    /// line to stderr holding every expected text, and no stack trace anywhere; with <paramref name="quietStdout"/>
    /// also nothing on stdout.
    /// </summary>
    public static void AssertOneLineFailure(ToolResult r, string tool, int code, bool quietStdout, params string[] expectedTexts)
    {
        Assert.True(r.Code == code, $"expected exit {code}; {r}");
        var lines = r.Err.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        Assert.True(lines.Length == 1, $"expected one stderr line; {r}");
        Assert.StartsWith(tool + ": ", lines[0], StringComparison.Ordinal);
        foreach (var expected in expectedTexts) Assert.True(lines[0].Contains(expected, StringComparison.Ordinal), $"expected '{expected}' in the message; {r}");
        Assert.DoesNotContain("internal error", lines[0], StringComparison.Ordinal);
        if (quietStdout) Assert.True(r.Out.Length == 0, $"a failed run printed to stdout; {r}");
        foreach (var text in new[] { r.Out, r.Err })
        {
            Assert.DoesNotContain("   at ", text, StringComparison.Ordinal);
            Assert.DoesNotContain("Unhandled", text, StringComparison.Ordinal);
        }
    }
}
