using Sedd.Runtime.Package;
using Sedd.Runtime.Tests.Onnx;
using Sedd.Tests.Shared;

namespace Sedd.Runtime.Tests.Cli;

/// <summary>
/// The sedd CLI meeting packages and options it did not make: manifest text cannot drive the terminal
/// (sedd info), hidden folders an export is working in are never taken for the default model, an empty
/// --model is a mistake rather than a request for the default, absurd manifests are bad packages (not a
/// batch problem), and option mistakes name the option and what it expects.
/// </summary>
public sealed class PackageCliTest
{
    [Fact]
    public void PackageCli_InfoNeutralisesManifestText()
    {
        const string hostile = "\u001b[2J\u001b]0;owned\u0007\u202eevil\r\nfake: line";
        using var package = TinyPackage.Create(edit: m => m with
        {
            Provenance = m.Provenance with { Corpus = hostile, Exporter = hostile, ExportedAt = hostile, Evaluation = m.Provenance.Evaluation! with { Split = hostile } },
            Verification = m.Verification! with { Reference = hostile },
        });
        var r = SeddProcess.Run("info", "--model", package.Folder);
        Assert.True(r.Code == 0, r.ToString());
        foreach (var c in new[] { '\u001b', '\u0007', '\u202e', '\r' })
            Assert.DoesNotContain(c, r.Out);
        Assert.Contains("\\x1b[2J", r.Out, StringComparison.Ordinal);
        Assert.DoesNotContain("\nfake: line", r.Out, StringComparison.Ordinal);
    }

    [Fact]
    public void PackageCli_DefaultModel_IgnoresHiddenAndTemporaryFolders()
    {
        using var package = TinyPackage.Create();
        var work = Directory.CreateTempSubdirectory("sedd-models-").FullName;
        try
        {
            var models = Path.Combine(work, "models");
            foreach (var name in new[] { "tiny", ".tiny.sedd-export-123-abcdef01.new", ".tiny.sedd-export-123-abcdef01.old", "tiny.tmp-4242-0123abcd", "tiny.old-4242-0123abcd" })
                Copy(package.Folder, Path.Combine(models, name));
            var r = ToolProcess.Run(SeddProcess.Dll, work, null, "info");
            Assert.True(r.Code == 0, r.ToString());
            Assert.Contains(Path.Combine(models, "tiny"), r.Out, StringComparison.Ordinal);
            // A second real package is still ambiguous.
            Copy(package.Folder, Path.Combine(models, "tiny2"));
            ToolProcess.AssertOneLineFailure(ToolProcess.Run(SeddProcess.Dll, work, null, "info"), "sedd", 1, true, "holds 2 packages (tiny, tiny2)");
        }
        finally { Directory.Delete(work, recursive: true); }
    }

    [Fact]
    public void PackageCli_EmptyModelPath_IsAUsageError() =>
        SeddProcess.AssertOneLineFailure(SeddProcess.Run("info", "--model", ""), 1, "--model needs a path");

    [Theory]
    [InlineData("--seed", "abc", "--seed requires a whole number ≥ 0, got 'abc'")]
    [InlineData("--seed", "-1", "--seed requires a whole number ≥ 0, got '-1'")]
    [InlineData("--steps", "many", "--steps requires a whole number, got 'many'")]
    public void PackageCli_OptionValueOfTheWrongKind_NamesTheOption(string option, string value, string expected)
    {
        using var package = TinyPackage.Create();
        var r = SeddProcess.Run("sample", "--model", package.Folder, "--provider", "cpu", option, value);
        SeddProcess.AssertOneLineFailure(r, 1, expected);
        Assert.DoesNotContain("Nullable", r.Err, StringComparison.Ordinal);
    }

    [Fact]
    public void PackageCli_UnknownCommandOrOption_IsOneLineNamingIt()
    {
        SeddProcess.AssertOneLineFailure(SeddProcess.Run("sampel"), 1, "'sampel' is not a command (did you mean sample?); see --help");
        SeddProcess.AssertOneLineFailure(SeddProcess.Run("info", "--bogus"), 1, "unknown option 'bogus'; see --help");
    }

    [Theory]
    [InlineData(int.MaxValue)]
    [InlineData(4_000_000)]
    public void PackageCli_AbsurdManifestLength_IsABadPackage(int length)
    {
        using var package = TinyPackage.Create();
        var path = Path.Combine(package.Folder, ModelPackage.ManifestFile);
        File.WriteAllText(path, File.ReadAllText(path).Replace("\"length\": 32,", $"\"length\": {length},", StringComparison.Ordinal));
        SeddProcess.AssertOneLineFailure(SeddProcess.Run("sample", "--model", package.Folder, "--provider", "cpu", "--batch", "1"), 2, "length must be between 1 and");
    }

    static void Copy(string from, string to)
    {
        Directory.CreateDirectory(to);
        foreach (var f in Directory.GetFiles(from)) File.Copy(f, Path.Combine(to, Path.GetFileName(f)));
    }
}
