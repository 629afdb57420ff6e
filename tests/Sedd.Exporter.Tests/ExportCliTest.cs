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

    [Fact]
    public void ExportCli_OptionMistakes_NameTheOptionAndWhatItExpects()
    {
        var checkpoint = TinyCheckpoints.Create(root, "absorb");
        AssertOneLine(Run(checkpoint), 1, "--out is required: the package folder to write");
        AssertOneLine(Run(checkpoint, "--out", "pkg", "--max-length", "abc"), 1, "--max-length requires a whole number, got 'abc'");
        AssertOneLine(Run(checkpoint, "--out", ""), 1, "--out needs a path");
        AssertOneLine(Run("", "--out", "pkg"), 1, "needs a path");
        AssertOneLine(Run(checkpoint, "--out", "pkg", "--notes", ""), 1, "--notes needs a path");
        AssertOneLine(Run(checkpoint, "--out", "pkg", "--bogus"), 1, "unknown option 'bogus'; see --help");
        Assert.False(Directory.Exists(Path.Combine(root, "pkg")));
    }

    [Fact]
    public void ExportCli_HelpNamesTheTool()
    {
        var r = Run("--help");
        Assert.True(r.Code == 0, r.ToString());
        Assert.Contains("Usage: sedd-export ", r.Out, StringComparison.Ordinal);
        Assert.Contains("--out", r.Out, StringComparison.Ordinal);
    }

    [Fact]
    public void ExportCli_NonRegularInputs_RefusedWithoutBlocking()
    {
        if (!OperatingSystem.IsLinux()) return;
        var checkpoint = TinyCheckpoints.Create(root, "absorb");
        var fifo = Path.Combine(root, "fifo");
        Assert.Equal(0, ToolProcess.RunExecutable("mkfifo", fifo).Code);
        AssertOneLine(Run(fifo, "--out", "pkg"), 2, "FIFO");
        AssertOneLine(Run(checkpoint, "--out", "pkg", "--notes", fifo), 2, "FIFO");
        AssertOneLine(Run(checkpoint, "--out", "pkg", "--eval", fifo), 2, "FIFO");
        AssertOneLine(Run(checkpoint, "--out", "pkg", "--notes", "/dev/zero"), 2, "a device");
        // A FIFO in place of a checkpoint's own file.
        var weights = Path.Combine(checkpoint, "ema.safetensors");
        File.Move(weights, weights + ".bak");
        Assert.Equal(0, ToolProcess.RunExecutable("mkfifo", weights).Code);
        AssertOneLine(Run(checkpoint, "--out", "pkg"), 2, "FIFO");
        Assert.False(Directory.Exists(Path.Combine(root, "pkg")));
    }

    [Fact]
    public void ExportCli_Force_NeverReplacesAFolderInsideTheSource()
    {
        var checkpoint = TinyCheckpoints.Create(root, "absorb");
        var run = Path.GetDirectoryName(Path.GetDirectoryName(checkpoint))!;
        var inside = Path.Combine(run, "pkg");
        Assert.Equal(0, Run(checkpoint, "--out", inside).Code);   // a new folder inside a run folder is fine
        var before = FolderSnapshot.Of(run);
        AssertOneLine(Run(run, "--out", inside, "--force"), 1, "lies inside the source");
        AssertOneLine(Run(run, "--out", run, "--force"), 1, "the source");
        Assert.Equal(before, FolderSnapshot.Of(run));
    }

    ToolResult Run(params string[] args) => ToolProcess.Run(Path.Combine(AppContext.BaseDirectory, "sedd-export.dll"), root, null, args);

    static void AssertOneLine(ToolResult r, int code, string text) => ToolProcess.AssertOneLineFailure(r, "sedd-export", code, quietStdout: false, text);

    public void Dispose() => Directory.Delete(root, recursive: true);
}
