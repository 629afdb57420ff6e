using Sedd.Tests.Shared;

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

    ToolResult Run(params string[] args) => ToolProcess.Run(Path.Combine(AppContext.BaseDirectory, "sedd-export.dll"), root, null, args);

    static void AssertOneLine(ToolResult r, int code, string text) => ToolProcess.AssertOneLineFailure(r, "sedd-export", code, quietStdout: false, text);

    public void Dispose() => Directory.Delete(root, recursive: true);
}
