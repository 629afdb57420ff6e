using System.Diagnostics;
using System.Text;

namespace Sedd.Trainer.Tests.Cli;

/// <summary>Exit code and the two streams of one <c>sedd-train</c> run.</summary>
sealed record CliResult(int Code, string Out, string Err)
{
    public override string ToString() => $"exit {Code}\n--- stdout\n{Out}\n--- stderr\n{Err}";
}

/// <summary>
/// Runs the built <c>sedd-train</c> (copied beside the test assembly) as a child process, so a test sees
/// exactly what a user sees: the exit code, stdout and stderr of a fresh process, Cocona's host included.
/// </summary>
static class CliProcess
{
    static readonly TimeSpan Timeout = TimeSpan.FromMinutes(2);

    public static CliResult Run(string workingDirectory, params string[] args)
    {
        var dll = Path.Combine(AppContext.BaseDirectory, "sedd-train.dll");
        Assert.True(File.Exists(dll), $"{dll} not found: the test project must reference the trainer");
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

        using var process = Process.Start(start)!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        if (!process.WaitForExit(Timeout))
        {
            process.Kill(entireProcessTree: true);
            throw new TimeoutException($"sedd-train {string.Join(' ', args)} did not finish within {Timeout.TotalSeconds} s");
        }
        process.WaitForExit();
        return new(process.ExitCode, stdout.Result, stderr.Result);
    }

    /// <summary>Fails unless the run exited with <paramref name="code"/> and printed exactly one "sedd-train: ..." line to stderr, no stack trace.</summary>
    public static void AssertOneLineFailure(CliResult r, int code, string expectedText)
    {
        Assert.True(r.Code == code, $"expected exit {code}; {r}");
        var lines = r.Err.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        Assert.True(lines.Length == 1, $"expected one stderr line; {r}");
        Assert.StartsWith("sedd-train: ", lines[0], StringComparison.Ordinal);
        Assert.Contains(expectedText, lines[0], StringComparison.Ordinal);
        Assert.DoesNotContain("internal error", lines[0], StringComparison.Ordinal);
        foreach (var text in new[] { r.Out, r.Err })
        {
            Assert.DoesNotContain("   at ", text, StringComparison.Ordinal);
            Assert.DoesNotContain("Unhandled", text, StringComparison.Ordinal);
        }
    }
}
