using System.Diagnostics;
using Sedd.Runtime.Package;
using Sedd.Runtime.Tests.Onnx;
using Sedd.Tests.Shared;

namespace Sedd.Runtime.Tests.Package;

/// <summary>
/// Opening a package verifies everything the graph will read: every file the ONNX graph references
/// (external data) must be listed and so checksummed; a file the manifest does not list is refused;
/// links that leave the package or loop, FIFOs and devices are refused in one line (exit 2), quickly.
/// </summary>
public sealed class ModelPackageTest : IDisposable
{
    readonly TinyPackage package = TinyPackage.Create(externalData: true);

    string Folder => package.Folder;

    public void Dispose() => package.Dispose();

    static SeddException Refused(string folder, string expected)
    {
        var clock = Stopwatch.StartNew();
        var e = Assert.Throws<SeddException>(() => ModelPackage.Open(folder));
        Assert.True(clock.Elapsed < TimeSpan.FromSeconds(10), $"{clock.Elapsed.TotalSeconds:F1} s");
        Assert.Equal(SeddException.BadInput, e.ExitCode);
        Assert.DoesNotContain('\n', e.Message);
        Assert.True(e.Message.Contains(expected, StringComparison.Ordinal), e.Message);
        return e;
    }

    void RewriteManifest(Func<ModelManifest, ModelManifest> edit)
    {
        var path = Path.Combine(Folder, ModelPackage.ManifestFile);
        File.WriteAllText(path, edit(ModelManifest.Parse(File.ReadAllText(path), path)).ToJson());
    }

    [Fact]
    public void ModelPackage_ExternalDataListed_OpensAndIsVerified()
    {
        Assert.True(File.Exists(Path.Combine(Folder, "model.onnx.data")));
        ModelPackage.Open(Folder);
        using (var f = new FileStream(Path.Combine(Folder, "model.onnx.data"), FileMode.Open, FileAccess.ReadWrite))
        {
            f.Position = f.Length / 2;
            int b = f.ReadByte();
            f.Position--;
            f.WriteByte((byte)(b ^ 0x55));   // tampered weights
        }
        Refused(Folder, "model.onnx.data in");
    }

    [Fact]
    public void ModelPackage_ExternalDataNotListed_IsRefused()
    {
        // Present but not listed: an unverified file.
        RewriteManifest(m => m with { Files = new(m.Files.Where(f => f.Key != "model.onnx.data").ToDictionary(), StringComparer.Ordinal) });
        Refused(Folder, "holds model.onnx.data, which manifest.json does not list");
        // Absent and not listed: the graph still names it.
        File.Delete(Path.Combine(Folder, "model.onnx.data"));
        Refused(Folder, "reads external data from model.onnx.data, which manifest.json does not list");
    }

    [Fact]
    public void ModelPackage_UnlistedFile_IsRefused()
    {
        File.WriteAllText(Path.Combine(Folder, "extra.onnx"), "x");
        Refused(Folder, "holds extra.onnx, which manifest.json does not list");
        File.Delete(Path.Combine(Folder, "extra.onnx"));
        Directory.CreateDirectory(Path.Combine(Folder, "sub"));
        File.WriteAllText(Path.Combine(Folder, "sub", "x.bin"), "x");
        Refused(Folder, "holds sub/x.bin");
    }

    [Fact]
    public void ModelPackage_LinksThatLeaveOrLoop_AreRefused()
    {
        if (OperatingSystem.IsWindows()) return;
        var readme = Path.Combine(Folder, "README.md");
        var outside = Path.Combine(Path.GetTempPath(), "sedd-outside-" + Guid.NewGuid().ToString("N"));
        File.Copy(readme, outside);
        try
        {
            File.Delete(readme);
            File.CreateSymbolicLink(readme, outside);   // same bytes, same checksum, outside the folder
            Refused(Folder, "leads outside the package folder");
            File.Delete(readme);
            File.CreateSymbolicLink(readme, readme);
            Refused(Folder, "loop of symbolic links");
            File.Delete(readme);
            File.Copy(outside, readme);
            ModelPackage.Open(Folder);
            var loop = Path.Combine(Folder, "loop");
            File.CreateSymbolicLink(loop, loop);   // unlisted, and a loop
            Refused(Folder, "loop of symbolic links");
            File.Delete(loop);
            File.CreateSymbolicLink(loop, "/etc");
            Refused(Folder, "leads outside the package folder");
        }
        finally { File.Delete(outside); }
    }

    [Fact]
    public void ModelPackage_FifoOrDevice_RefusedWithoutBlocking()
    {
        if (!OperatingSystem.IsLinux()) return;
        var weights = Path.Combine(Folder, "model.safetensors");
        File.Delete(weights);
        Assert.Equal(0, ToolProcess.RunExecutable("mkfifo", weights).Code);
        Refused(Folder, "a FIFO");
        File.Delete(weights);
        File.CreateSymbolicLink(weights, "/dev/zero");
        Refused(Folder, "leads outside");
        File.Delete(weights);
        var manifest = Path.Combine(Folder, ModelPackage.ManifestFile);
        File.Delete(manifest);
        Assert.Equal(0, ToolProcess.RunExecutable("mkfifo", manifest).Code);
        Refused(Folder, "FIFO");
    }

    [Fact]
    public void ModelPackage_FolderThatIsALoop_IsRefused()
    {
        if (OperatingSystem.IsWindows()) return;
        var loop = Path.Combine(Path.GetTempPath(), "sedd-loop-" + Guid.NewGuid().ToString("N"));
        Directory.CreateSymbolicLink(loop, loop);
        try { Refused(loop, "loop of symbolic links"); }
        finally { File.Delete(loop); }
    }
}
