using System.Diagnostics;
using System.Text;

namespace Sedd.Tests;

/// <summary>The built sedd-export as a child process: what a user sees (exit code, one stderr line, no stack trace).</summary>
public sealed class ExportCliTest : IDisposable
{
    readonly string root = Directory.CreateTempSubdirectory("sedd-export-cli-").FullName;

    [Fact]
    public void ExportCli_ExportsAndRefusesExistingOutput()
    {
        var checkpoint = TinyCheckpoints.Create(root, "absorb");
        var run = Path.GetDirectoryName(Path.GetDirectoryName(checkpoint))!;   // the run folder: its latest checkpoint is used
        var ok = Run(run, "--out", "pkg");
        Assert.True(ok.Code == 0, ok.ToString());
        Assert.Contains("parameters", ok.Out, StringComparison.Ordinal);
        Assert.Contains("max |Δ|", ok.Out, StringComparison.Ordinal);
        Assert.True(File.Exists(Path.Combine(root, "pkg", "manifest.json")));

        AssertOneLine(Run(run, "--out", "pkg"), 1, "--force");
        Assert.Equal(0, Run(run, "--out", "pkg", "--force").Code);
    }

    [Fact]
    public void ExportCli_BadInputs_OneLine()
    {
        File.WriteAllText(Path.Combine(root, "notes.txt"), "text");
        AssertOneLine(Run(Path.Combine(root, "missing"), "--out", "pkg"), 2, "does not exist");
        AssertOneLine(Run(Path.Combine(root, "notes.txt"), "--out", "pkg"), 2, "not a zip archive");
        AssertOneLine(Run(root, "--out", "pkg", "--precision", "fp8"), 1, "--precision");
        Assert.False(Directory.Exists(Path.Combine(root, "pkg")));
    }

    sealed record Result(int Code, string Out, string Err)
    {
        public override string ToString() => $"exit {Code}\n--- stdout\n{Out}\n--- stderr\n{Err}";
    }

    Result Run(params string[] args)
    {
        var dll = Path.Combine(AppContext.BaseDirectory, "sedd-export.dll");
        Assert.True(File.Exists(dll), $"{dll} not found: the test project must reference the exporter");
        var start = new ProcessStartInfo(Environment.GetEnvironmentVariable("DOTNET_HOST_PATH") ?? "dotnet")
        {
            WorkingDirectory = root, RedirectStandardOutput = true, RedirectStandardError = true,
            StandardOutputEncoding = Encoding.UTF8, StandardErrorEncoding = Encoding.UTF8, UseShellExecute = false,
        };
        start.ArgumentList.Add(dll);
        foreach (var a in args) start.ArgumentList.Add(a);
        start.Environment.Remove("SEDD_DEBUG");
        using var p = Process.Start(start)!;
        var stdout = p.StandardOutput.ReadToEndAsync();
        var stderr = p.StandardError.ReadToEndAsync();
        if (!p.WaitForExit(TimeSpan.FromMinutes(2))) { p.Kill(true); throw new TimeoutException("sedd-export did not finish"); }
        p.WaitForExit();
        return new(p.ExitCode, stdout.Result, stderr.Result);
    }

    static void AssertOneLine(Result r, int code, string text)
    {
        Assert.True(r.Code == code, $"expected exit {code}; {r}");
        var lines = r.Err.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        Assert.True(lines.Length == 1, $"expected one stderr line; {r}");
        Assert.StartsWith("sedd-export: ", lines[0], StringComparison.Ordinal);
        Assert.Contains(text, lines[0], StringComparison.Ordinal);
        Assert.DoesNotContain("   at ", r.Out + r.Err, StringComparison.Ordinal);
    }

    public void Dispose() => Directory.Delete(root, recursive: true);
}
