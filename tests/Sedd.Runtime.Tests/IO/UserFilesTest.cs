using System.Diagnostics;
using Sedd.Runtime;
using Sedd.Runtime.IO;
using Xunit;

namespace Sedd.Runtime.Tests.IO;

public sealed class UserFilesTest : IDisposable
{
    readonly string dir = Directory.CreateTempSubdirectory("sedd-userfiles-").FullName;

    public void Dispose() => Directory.Delete(dir, recursive: true);

    static void MakeFifo(string path)
    {
        using var p = Process.Start(new ProcessStartInfo("mkfifo", [path]) { UseShellExecute = false })!;
        p.WaitForExit();
        Assert.Equal(0, p.ExitCode);
    }

    [Fact]
    public void UserFilesTest_KindsAreReadWithoutOpening()
    {
        if (OperatingSystem.IsWindows()) return;
        var file = Path.Combine(dir, "a.txt");
        File.WriteAllText(file, "x");
        var fifo = Path.Combine(dir, "pipe");
        MakeFifo(fifo);
        var loop = Path.Combine(dir, "loop");
        File.CreateSymbolicLink(loop, loop);
        var link = Path.Combine(dir, "link");
        File.CreateSymbolicLink(link, file);

        Assert.Equal(FileKind.Regular, FileKinds.Of(file));
        Assert.Equal(FileKind.Regular, FileKinds.Of(link));
        Assert.Equal(FileKind.Directory, FileKinds.Of(dir));
        Assert.Equal(FileKind.Fifo, FileKinds.Of(fifo));
        Assert.Equal(FileKind.Device, FileKinds.Of("/dev/null"));
        Assert.Equal(FileKind.LinkLoop, FileKinds.Of(loop));
        Assert.Equal(FileKind.Missing, FileKinds.Of(Path.Combine(dir, "nothing")));
        Assert.Equal(FileKind.Missing, FileKinds.Of(""));
    }

    [Fact]
    public void UserFilesTest_AFifoIsRefusedAtOnceInOneLine()
    {
        if (OperatingSystem.IsWindows()) return;
        var fifo = Path.Combine(dir, "prompt.txt");
        MakeFifo(fifo);
        var clock = Stopwatch.StartNew();
        var e = Assert.Throws<SeddException>(() => UserFiles.ReadAllText(fifo, "--prompt-file", 1 << 20));
        Assert.True(clock.Elapsed < TimeSpan.FromSeconds(5));
        Assert.Equal(SeddException.BadInput, e.ExitCode);
        Assert.Contains("FIFO", e.Message);
        Assert.DoesNotContain('\n', e.Message);
    }

    [Fact]
    public void UserFilesTest_SizeLimitAndStrictUtf8()
    {
        var big = Path.Combine(dir, "big.txt");
        File.WriteAllBytes(big, new byte[2048]);
        var e = Assert.Throws<SeddException>(() => UserFiles.ReadAllBytes(big, "--notes", 1024));
        Assert.Contains("at most 1,024", e.Message);

        var bad = Path.Combine(dir, "bad.txt");
        File.WriteAllBytes(bad, [0x61, 0xff, 0x62]);
        e = Assert.Throws<SeddException>(() => UserFiles.ReadAllText(bad, "--prompt-file", 100));
        Assert.Contains("offset 1", e.Message);

        var bom = Path.Combine(dir, "bom.txt");
        File.WriteAllBytes(bom, [0xef, 0xbb, 0xbf, 0x68, 0x69]);
        Assert.Equal("hi", UserFiles.ReadAllText(bom, "x", 100));
    }

    [Theory]
    [InlineData("")]
    [InlineData("   ")]
    public void UserFilesTest_EmptyPathArgumentIsUsage(string path)
    {
        var e = Assert.Throws<SeddException>(() => UserFiles.RequirePathArgument(path, "--out"));
        Assert.Equal(SeddException.Usage, e.ExitCode);
        Assert.Contains("--out", e.Message);
    }
}

public class TerminalTextTest
{
    [Fact]
    public void TerminalTextTest_EscapesBecomeVisible()
    {
        Assert.Equal("a\\x1b[31mred", TerminalText.Neutralise("a\u001b[31mred"));
        Assert.Equal("x\\x9by", TerminalText.Neutralise("x\u009by"));
        Assert.Equal("bidi \\u202e!", TerminalText.Neutralise("bidi \u202e!"));
        Assert.Equal("keep\nlines\tand tabs, é and 日本", TerminalText.Neutralise("keep\nlines\tand tabs, é and 日本"));
        Assert.Equal("one\\x0aline", TerminalText.Neutralise("one\nline", keepNewlines: false));
        Assert.Equal("cr\\x0d", TerminalText.Neutralise("cr\r"));
    }
}

public class MemoryBudgetTest
{
    [Fact]
    public void MemoryBudgetTest_RefusesWhatCannotFitAndSaysHowMuch()
    {
        Assert.True(MemoryBudget.Available() > 0);
        MemoryBudget.Require(1 << 20, "a small buffer", "none");
        var e = Assert.Throws<SeddException>(() => MemoryBudget.Require(MemoryBudget.Product(1L << 40, 1 << 20), "sampling", "use a smaller --batch"));
        Assert.Equal(SeddException.Usage, e.ExitCode);
        Assert.Contains("needs about", e.Message);
        Assert.Contains("available", e.Message);
        Assert.Equal(long.MaxValue, MemoryBudget.Product(long.MaxValue / 2, 3));
    }

    [Fact]
    public void ThreadCountTest_CapsAtAFewPerCore()
    {
        Assert.Equal(0, ThreadCount.Check(0, "--threads"));
        Assert.Equal(ThreadCount.Max, ThreadCount.Check(ThreadCount.Max, "--threads"));
        var e = Assert.Throws<SeddException>(() => ThreadCount.Check(100000, "--threads"));
        Assert.Equal(SeddException.Usage, e.ExitCode);
        Assert.Throws<SeddException>(() => ThreadCount.Check(-1, "--threads"));
    }
}
