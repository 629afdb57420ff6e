using Sedd.Exporter;
using Sedd.Exporter.Sources;
using Sedd.Runtime;

namespace Sedd.Tests;

/// <summary>The CLI's steps in process (load the source, write the package), for tests that need the pieces.</summary>
static class ExportHarness
{
    public static ExportResult Export(string source, string output, bool force = false, string weights = "ema", string? config = null,
        Action<string>? faultAfter = null, string precision = "fp32") =>
        PackageWriter.Write(SourceLoader.Load(source, weights, null, null, config), output, precision, force, null, TextWriter.Null, faultAfter);

    /// <summary>Runs <paramref name="export"/>, which must fail with <paramref name="code"/>, one line, and leave nothing named <paramref name="output"/> (nor hidden build folders or journals).</summary>
    public static SeddException Fails(int code, string output, Action export)
    {
        var e = Assert.Throws<SeddException>(export);
        Assert.True(e.ExitCode == code, $"expected exit {code}, got {e.ExitCode}: {e.Message}");
        Assert.DoesNotContain('\n', e.Message);
        Assert.False(Directory.Exists(output), $"{output} exists after a failed export");
        var parent = Path.GetDirectoryName(Path.GetFullPath(output))!;
        if (Directory.Exists(parent))
            Assert.Empty(FolderSnapshot.Leftovers(parent));   // no build folder, no journal
        return e;
    }
}
