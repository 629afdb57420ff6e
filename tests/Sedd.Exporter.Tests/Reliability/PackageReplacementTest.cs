using System.Text.Json.Nodes;
using Sedd.Exporter;
using Sedd.Runtime.IO;
using Sedd.Runtime.Package;

namespace Sedd.Tests;

/// <summary>
/// Atomic, recoverable replacement: a crash at every step of a --force export (simulated: the process
/// "dies" and rolls nothing back; its journal names a process that is gone) leaves a complete package
/// at --out, old or new, and the next export into the same folder removes every trace of it. With the
/// atomic exchange and with the two-rename fallback. Leftovers of a live process, and hidden folders
/// without a journal of ours, are never touched.
/// </summary>
public sealed class PackageReplacementTest : IDisposable
{
    static readonly ProcessIdentity Gone = new(Environment.MachineName, 2_000_000_000, 0);

    readonly string root = Directory.CreateTempSubdirectory("sedd-export-replace-").FullName;
    readonly string absorb;
    readonly string uniform;

    public PackageReplacementTest()
    {
        absorb = TinyCheckpoints.Create(Path.Combine(root, "a"), "absorb");
        uniform = TinyCheckpoints.Create(Path.Combine(root, "u"), "uniform");
    }

    string Out => Path.Combine(root, "pkg");

    [Theory]
    [InlineData("journal", true, "absorb")]
    [InlineData("placed", true, "uniform")]
    [InlineData("cleaned", true, "uniform")]
    [InlineData("aside", false, null)]          // between the two renames: --out is empty until the next export
    [InlineData("placed", false, "uniform")]
    [InlineData("cleaned", false, "uniform")]
    public void PackageReplacement_CrashAtAnyStep_NextExportRecovers(string step, bool exchange, string? graphAfterCrash)
    {
        ExportHarness.Export(absorb, Out);
        try
        {
            PackageReplacement.UseExchange = exchange;
            PackageReplacement.Identity = Gone;
            PackageReplacement.CrashAt = s => s == step;
            Assert.Throws<SimulatedCrashException>(() => ExportHarness.Export(uniform, Out, force: true));
        }
        finally
        {
            PackageReplacement.CrashAt = null;
            PackageReplacement.Identity = ProcessIdentity.Current;
            PackageReplacement.UseExchange = true;
        }
        if (graphAfterCrash != null) Assert.Equal(graphAfterCrash, ModelPackage.Open(Out).Manifest.Graph.Type);
        else Assert.False(Directory.Exists(Out));
        Assert.NotEmpty(FolderSnapshot.Leftovers(root));   // the journal at least

        // The next export into the same folder (another package) recovers first: old or new package back
        // at its name, every hidden folder and journal gone.
        ExportHarness.Export(absorb, Path.Combine(root, "other"));
        Assert.Empty(FolderSnapshot.Leftovers(root));
        Assert.Equal(graphAfterCrash ?? "absorb", ModelPackage.Open(Out).Manifest.Graph.Type);
    }

    [Fact]
    public void PackageReplacement_LeftoversOfALiveProcess_AreNotTouched()
    {
        ExportHarness.Export(absorb, Out);
        try
        {
            PackageReplacement.CrashAt = s => s == "journal";   // this process, which is alive, "crashes"
            Assert.Throws<SimulatedCrashException>(() => ExportHarness.Export(uniform, Out, force: true));
        }
        finally { PackageReplacement.CrashAt = null; }
        var leftovers = FolderSnapshot.Leftovers(root);
        ExportHarness.Export(absorb, Path.Combine(root, "other"));
        Assert.Equal(leftovers, FolderSnapshot.Leftovers(root));
    }

    [Fact]
    public void PackageReplacement_ForeignHiddenFoldersAndForgedJournals_AreNotTouched()
    {
        ExportHarness.Export(absorb, Out);
        // Looks like ours, but no journal names it.
        var lookalike = Directory.CreateDirectory(Path.Combine(root, ".pkg.sedd-export-123-abcdef01.new")).FullName;
        File.WriteAllText(Path.Combine(lookalike, "keep.txt"), "mine");
        // A journal of a dead process that names somebody else's folder.
        var victim = Directory.CreateDirectory(Path.Combine(root, "victim")).FullName;
        File.WriteAllText(Path.Combine(victim, "keep.txt"), "mine");
        File.WriteAllText(Path.Combine(root, ".pkg.sedd-export-7-0123abcd.json"), new JsonObject
        {
            ["tool"] = "sedd-export", ["host"] = Gone.Host, ["pid"] = Gone.Pid, ["start_ticks"] = 0,
            ["final"] = "pkg", ["build"] = "victim", ["aside"] = "victim",
        }.ToJsonString());
        ExportHarness.Export(absorb, Path.Combine(root, "other"));
        Assert.True(File.Exists(Path.Combine(lookalike, "keep.txt")));
        Assert.True(File.Exists(Path.Combine(victim, "keep.txt")));
        Assert.Equal("absorb", ModelPackage.Open(Out).Manifest.Graph.Type);
    }

    [Fact]
    public void PackageReplacement_FailedExport_KeepsTheOldPackageAndLeavesNothing()
    {
        ExportHarness.Export(absorb, Out);
        var before = FolderSnapshot.Of(Out);
        foreach (var file in new[] { "model.onnx", "model.safetensors", "README.md", "manifest.json" })
        {
            Assert.ThrowsAny<Exception>(() => ExportHarness.Export(uniform, Out, force: true, faultAfter: f => { if (f == file) throw new IOException("No space left on device (simulated)"); }));
            Assert.Equal(before, FolderSnapshot.Of(Out));
            Assert.Empty(FolderSnapshot.Leftovers(root));
        }
    }

    public void Dispose() => Directory.Delete(root, recursive: true);
}
