using Sedd.Exporter;
using Sedd.Exporter.Sources;
using Sedd.Runtime.Package;

namespace Sedd.Tests;

/// <summary>
/// Cancellation at every phase of an export (reading the source, after each file is written, during
/// verification and hashing, at the commit): the export stops with OperationCanceledException (exit 130
/// in the CLI), the old package at --out is byte for byte what it was, and nothing is left beside it.
/// A cancellation after the commit changes nothing (<see cref="CommitGate"/>).
/// </summary>
public sealed class ExportCancellationTest : IDisposable
{
    readonly string root = Directory.CreateTempSubdirectory("sedd-export-cancel-").FullName;

    string Out => Path.Combine(root, "pkg");

    [Fact]
    public void ExportCancellation_WhileReading_StopsBeforeAnythingIsWritten()
    {
        var checkpoint = TinyCheckpoints.Create(root, "absorb");
        using var cancelled = new CancellationTokenSource();
        cancelled.Cancel();
        Assert.ThrowsAny<OperationCanceledException>(() => SourceLoader.Load(checkpoint, "ema", null, null, null, cancelled.Token));
        var pth = Directory.GetFiles(Goldens.PathOf("checkpoints"), "*.pth").Order(StringComparer.Ordinal).First();
        Assert.ThrowsAny<OperationCanceledException>(() => SourceLoader.Load(pth, "ema", null, null, Directory.GetFiles(Goldens.PathOf("checkpoints"), "*.yaml")[0], cancelled.Token));
    }

    [Theory]
    [InlineData("model.onnx")]          // then the weights are written
    [InlineData("model.safetensors")]   // then the graph is verified
    [InlineData("README.md")]           // then every file is hashed
    [InlineData("manifest.json")]       // then the package is reopened and hashed again, then committed
    public void ExportCancellation_AfterEachFile_KeepsTheOldPackage(string after)
    {
        var absorb = TinyCheckpoints.Create(Path.Combine(root, "a"), "absorb");
        var uniform = SourceLoader.Load(TinyCheckpoints.Create(Path.Combine(root, "u"), "uniform"), "ema", null, null, null);
        ExportHarness.Export(absorb, Out);
        var before = FolderSnapshot.Of(Out);
        using var cancel = new CancellationTokenSource();
        Assert.ThrowsAny<OperationCanceledException>(() => PackageWriter.Write(uniform, Out, "fp32", force: true, null, TextWriter.Null,
            faultAfter: f => { if (f == after) cancel.Cancel(); }, cancel: cancel.Token));
        Assert.Equal(before, FolderSnapshot.Of(Out));
        Assert.Empty(FolderSnapshot.Leftovers(root));
        Assert.Equal("absorb", ModelPackage.Open(Out).Manifest.Graph.Type);
    }

    [Fact]
    public void ExportCancellation_GateCancelledBeforeTheCommit_KeepsTheOldPackage()
    {
        var absorb = TinyCheckpoints.Create(Path.Combine(root, "a"), "absorb");
        var uniform = SourceLoader.Load(TinyCheckpoints.Create(Path.Combine(root, "u"), "uniform"), "ema", null, null, null);
        ExportHarness.Export(absorb, Out);
        var before = FolderSnapshot.Of(Out);
        using var gate = new CommitGate();
        // The signal handler's path: the gate (not the token the loops watch) is cancelled at the last moment.
        Assert.ThrowsAny<OperationCanceledException>(() => PackageWriter.Write(uniform, Out, "fp32", force: true, null, TextWriter.Null,
            faultAfter: f => { if (f == "manifest.json") gate.Cancel(); }, gate: gate));
        Assert.Equal(before, FolderSnapshot.Of(Out));
        Assert.Empty(FolderSnapshot.Leftovers(root));
    }

    [Fact]
    public void ExportCancellation_AfterTheCommit_ChangesNothing()
    {
        using var gate = new CommitGate();
        gate.Commit(CancellationToken.None, () => { });
        Assert.True(gate.IsCommitted);
        Assert.False(gate.Cancel());
        Assert.False(gate.Token.IsCancellationRequested);

        using var early = new CommitGate();
        Assert.True(early.Cancel());
        bool ran = false;
        Assert.ThrowsAny<OperationCanceledException>(() => early.Commit(CancellationToken.None, () => ran = true));
        Assert.False(ran);
        Assert.False(early.IsCommitted);
    }

    public void Dispose() => Directory.Delete(root, recursive: true);
}
