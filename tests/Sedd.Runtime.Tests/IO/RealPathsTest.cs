using Sedd.Runtime.IO;

namespace Sedd.Runtime.Tests.IO;

/// <summary>Canonical paths through links, loops reported rather than followed, and "inside" meaning inside.</summary>
public sealed class RealPathsTest : IDisposable
{
    readonly string dir = Directory.CreateTempSubdirectory("sedd-realpath-").FullName;

    public void Dispose() => Directory.Delete(dir, recursive: true);

    [Fact]
    public void RealPaths_ResolveLinksAndReportLoops()
    {
        if (OperatingSystem.IsWindows()) return;
        var target = Directory.CreateDirectory(Path.Combine(dir, "target")).FullName;
        var link = Path.Combine(dir, "link");
        Directory.CreateSymbolicLink(link, target);
        var real = RealPaths.Resolve(Path.Combine(link, "."), "folder");
        Assert.Equal(RealPaths.Resolve(target, "folder"), real);
        var loop = Path.Combine(dir, "loop");
        File.CreateSymbolicLink(loop, loop);
        Assert.Null(RealPaths.TryResolve(loop, out var failure));
        Assert.Equal(FileKind.LinkLoop, failure);
        Assert.Contains("loop of symbolic links", Assert.Throws<SeddException>(() => RealPaths.Resolve(loop, "package")).Message, StringComparison.Ordinal);
        Assert.Null(RealPaths.TryResolve(Path.Combine(dir, "missing"), out failure));
        Assert.Equal(FileKind.Missing, failure);
        Assert.Null(RealPaths.TryResolve("", out failure));
    }

    [Theory]
    [InlineData("/a/b", "/a/b", true)]
    [InlineData("/a/b/c", "/a/b", true)]
    [InlineData("/a/bc", "/a/b", false)]
    [InlineData("/a", "/a/b", false)]
    [InlineData("/anything", "/", true)]
    public void RealPaths_IsSameOrInside(string inner, string outer, bool expected)
    {
        if (OperatingSystem.IsWindows()) return;
        Assert.Equal(expected, RealPaths.IsSameOrInside(inner, outer));
    }
}
