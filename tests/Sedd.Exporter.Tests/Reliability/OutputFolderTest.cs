using Sedd.Runtime;
using Sedd.Runtime.Package;

namespace Sedd.Tests;

/// <summary>
/// Data loss: <c>--force</c> replaces only a Sedd model package that holds nothing but its own files and
/// none of the export's inputs. Every other --out is refused in one line (exit 1) and left byte for byte
/// as it was: a folder of user files, the source checkpoint, its run folder, a folder that holds the
/// source or lies inside it, a package with a user's file in it, a link, an empty path.
/// </summary>
public sealed class OutputFolderTest : IDisposable
{
    readonly string root = Directory.CreateTempSubdirectory("sedd-export-out-").FullName;

    string Checkpoint => field ??= TinyCheckpoints.Create(root, "absorb");

    /// <summary>Runs a --force export into <paramref name="output"/>, which must fail with exit 1 naming <paramref name="expected"/> and change nothing under <paramref name="watched"/>.</summary>
    SeddException Refused(string output, string expected, string? watched = null, string? source = null)
    {
        watched ??= root;
        var before = FolderSnapshot.Of(watched);
        var e = Assert.Throws<SeddException>(() => ExportHarness.Export(source ?? Checkpoint, output, force: true));
        Assert.True(e.ExitCode == SeddException.Usage, $"exit {e.ExitCode}: {e.Message}");
        Assert.DoesNotContain('\n', e.Message);
        Assert.Contains(expected, e.Message, StringComparison.Ordinal);
        Assert.Equal(before, FolderSnapshot.Of(watched));
        Assert.Empty(FolderSnapshot.Leftovers(Path.GetDirectoryName(Path.GetFullPath(output))!));
        return e;
    }

    [Fact]
    public void OutputFolder_Force_RefusesAFolderOfUserFiles()
    {
        var mine = Directory.CreateDirectory(Path.Combine(root, "thesis")).FullName;
        File.WriteAllText(Path.Combine(mine, "chapter1.md"), "years of work");
        Directory.CreateDirectory(Path.Combine(mine, "figures"));
        File.WriteAllText(Path.Combine(mine, "figures", "a.svg"), "<svg/>");
        _ = Checkpoint;
        Refused(mine, "is not a Sedd model package");
    }

    [Fact]
    public void OutputFolder_Force_RefusesTheSourceItsRunFolderAndItsParents()
    {
        var run = Path.GetDirectoryName(Path.GetDirectoryName(Checkpoint))!;
        Refused(Checkpoint, "is the source checkpoint");
        Refused(run, "holds the source checkpoint");
        Refused(root, "holds the source checkpoint");
    }

    [Fact]
    public void OutputFolder_Force_RefusesAPackageInsideTheSource()
    {
        // A hub-style folder that happens to hold a package: replacing it would change the source.
        var hub = Path.Combine(root, "hub");
        CopyFolder(Goldens.PathOf(Path.Combine("checkpoints", "hf-absorb-tiny")), hub);
        var inside = Path.Combine(hub, "pkg");
        ExportHarness.Export(Checkpoint, inside);
        Refused(inside, "lies inside the source checkpoint", source: hub);
    }

    [Fact]
    public void OutputFolder_Force_RefusesAPackageHoldingAFileOfTheUser()
    {
        var pkg = Path.Combine(root, "pkg");
        ExportHarness.Export(Checkpoint, pkg);
        File.WriteAllText(Path.Combine(pkg, "my-notes.txt"), "do not lose me");
        Refused(pkg, "holds my-notes.txt, which is not part of its package");
        Directory.CreateDirectory(Path.Combine(pkg, "extra"));
        File.Delete(Path.Combine(pkg, "my-notes.txt"));
        Refused(pkg, "holds extra/");
    }

    [Fact]
    public void OutputFolder_Force_RefusesAManifestThisVersionDoesNotRead()
    {
        var pkg = Path.Combine(root, "pkg");
        ExportHarness.Export(Checkpoint, pkg);
        File.WriteAllText(Path.Combine(pkg, ModelPackage.ManifestFile), "{\"format\": \"something-else\"}");
        Refused(pkg, "is not a model package this version reads");
    }

    [Fact]
    public void OutputFolder_Force_RefusesALinkAndAFile()
    {
        var pkg = Path.Combine(root, "pkg");
        ExportHarness.Export(Checkpoint, pkg);
        var link = Path.Combine(root, "link");
        Directory.CreateSymbolicLink(link, pkg);
        Refused(link, "is a symbolic link");
        var file = Path.Combine(root, "file");
        File.WriteAllText(file, "x");
        Refused(file, "is a file");
    }

    [Fact]
    public void OutputFolder_Force_ReplacesAPackage_AndLeavesNothingBehind()
    {
        var pkg = Path.Combine(root, "pkg");
        ExportHarness.Export(Checkpoint, pkg);
        var uniform = TinyCheckpoints.Create(Path.Combine(root, "u"), "uniform");
        ExportHarness.Export(uniform, pkg, force: true);
        Assert.Equal("uniform", ModelPackage.Open(pkg).Manifest.Graph.Type);
        Assert.Empty(FolderSnapshot.Leftovers(root));
    }

    [Theory]
    [InlineData("")]
    [InlineData("   ")]
    public void OutputFolder_EmptyPathIsAUsageError(string output)
    {
        var e = Assert.Throws<SeddException>(() => ExportHarness.Export(Checkpoint, output));
        Assert.Equal(SeddException.Usage, e.ExitCode);
        Assert.Contains("--out needs a path", e.Message, StringComparison.Ordinal);
    }

    static void CopyFolder(string from, string to)
    {
        Directory.CreateDirectory(to);
        foreach (var f in Directory.GetFiles(from)) File.Copy(f, Path.Combine(to, Path.GetFileName(f)));
    }

    public void Dispose() => Directory.Delete(root, recursive: true);
}
