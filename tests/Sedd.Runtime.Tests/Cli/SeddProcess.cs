using System.Diagnostics;
using System.Reflection;
using System.Text;

namespace Sedd.Runtime.Tests.Cli;

/// <summary>Exit code and the two streams of one <c>sedd</c> run.</summary>
sealed record SeddResult(int Code, string Out, string Err)
{
    public override string ToString() => $"exit {Code}\n--- stdout\n{Out}\n--- stderr\n{Err}";
}

/// <summary>
/// Runs the built <c>sedd</c> (from its own output folder, with its own native ONNX Runtime) as a child
/// process, so a test sees what a user sees: exit code, stdout and stderr of a fresh process.
/// </summary>
static class SeddProcess
{
    static readonly TimeSpan Timeout = TimeSpan.FromMinutes(2);

    public static string Dll { get; } = Path.GetFullPath(typeof(SeddProcess).Assembly.GetCustomAttributes<AssemblyMetadataAttribute>()
        .Single(a => a.Key == "SeddCli").Value!);

    public static SeddResult Run(params string[] args) => Run(null, args);

    public static SeddResult Run(IReadOnlyDictionary<string, string>? environment, params string[] args)
    {
        using var process = Start(environment, args);
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        if (!process.WaitForExit(Timeout))
        {
            process.Kill(entireProcessTree: true);
            throw new TimeoutException($"sedd {string.Join(' ', args)} did not finish within {Timeout.TotalSeconds} s");
        }
        process.WaitForExit();
        return new(process.ExitCode, stdout.Result, stderr.Result);
    }

    public static Process Start(IReadOnlyDictionary<string, string>? environment, params string[] args)
    {
        Assert.True(File.Exists(Dll), $"{Dll} not found: build runtime/sedd (the test project references it)");
        var start = new ProcessStartInfo(Environment.GetEnvironmentVariable("DOTNET_HOST_PATH") ?? "dotnet")
        {
            WorkingDirectory = Path.GetTempPath(),
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            StandardOutputEncoding = Encoding.UTF8,
            StandardErrorEncoding = Encoding.UTF8,
            UseShellExecute = false,
        };
        start.ArgumentList.Add(Dll);
        foreach (var a in args) start.ArgumentList.Add(a);
        start.Environment.Remove("SEDD_DEBUG"); // the one-line error path is what users get
        start.Environment.Remove("SEDD_MODEL");
        if (environment != null)
            foreach (var (k, v) in environment) start.Environment[k] = v;
        return Process.Start(start)!;
    }

    /// <summary>Fails unless the run exited with <paramref name="code"/> and printed exactly one "sedd: ..." line to stderr, no stack trace.</summary>
    public static void AssertOneLineFailure(SeddResult r, int code, params string[] expectedTexts)
    {
        Assert.True(r.Code == code, $"expected exit {code}; {r}");
        var lines = r.Err.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        Assert.True(lines.Length == 1, $"expected one stderr line; {r}");
        Assert.StartsWith("sedd: ", lines[0], StringComparison.Ordinal);
        foreach (var expected in expectedTexts) Assert.True(lines[0].Contains(expected, StringComparison.Ordinal), $"expected '{expected}' in the message; {r}");
        Assert.DoesNotContain("internal error", lines[0], StringComparison.Ordinal);
        Assert.True(r.Out.Length == 0, $"a failed run printed to stdout; {r}");
        foreach (var text in new[] { r.Out, r.Err })
        {
            Assert.DoesNotContain("   at ", text, StringComparison.Ordinal);
            Assert.DoesNotContain("Unhandled", text, StringComparison.Ordinal);
        }
    }
}
