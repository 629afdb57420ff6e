using Sedd.Runtime.Package;
using Sedd.Tests;
using Sedd.Tests.Shared;

namespace Sedd.Runtime.Tests.Packaging;

/// <summary>
/// <c>sedd</c> as a dotnet tool (runtime/sedd/Packaging.targets), end to end as a user meets it: the CPU
/// flavour is packed (in its own artifacts folder, so the solution's build outputs stay as they are), its
/// contents checked, installed with <c>dotnet tool install --tool-path</c> and run from a folder outside the
/// repository, where only the model shipped inside the tool, <c>$SEDD_MODEL</c> or <c>--model</c> can be found.
/// </summary>
public sealed class SeddToolPackageTest
{
    [Fact]
    public void SeddToolPackageTest_CpuToolShipsTheModelInstallsAndSamplesFromAnyFolder()
    {
        var model = DefaultModel();
        var modelName = Path.GetFileName(model);
        var work = DotnetCli.TempFolder("sedd-tool");
        try
        {
            // Pack.
            var feed = Path.Combine(work, "feed");
            var pack = DotnetCli.Dotnet(Goldens.RepoRoot, "pack", Path.Combine(Goldens.RepoRoot, "runtime", "sedd", "sedd.csproj"),
                "-c", "Release", "-p:OrtFlavor=cpu", "--artifacts-path", Path.Combine(work, "artifacts"), "-o", feed);
            Assert.True(pack.Code == 0, $"dotnet pack runtime/sedd -p:OrtFlavor=cpu failed; {pack}");
            var nupkg = DotnetCli.Package(feed, "sedd-cpu");
            var nuspec = DotnetCli.Nuspec(nupkg);
            Assert.Contains("DotnetTool", nuspec.PackageTypes);
            Assert.Equal("MIT", nuspec.Fields.GetValueOrDefault("license"));
            Assert.Equal("README.md", nuspec.Fields.GetValueOrDefault("readme"));

            // Contents: the default model whole, the desktop natives, nothing a .NET tool cannot load.
            var entries = DotnetCli.Entries(nupkg);
            const string root = "tools/net10.0/any/";
            foreach (var file in Directory.GetFiles(model))
            {
                var entry = $"{root}models/{modelName}/{Path.GetFileName(file)}";
                Assert.True(entries.TryGetValue(entry, out long size) && size == new FileInfo(file).Length, $"{entry} missing or of another size");
            }
            foreach (var rid in new[] { "linux-x64", "linux-arm64", "osx-arm64", "win-x64", "win-arm64" })
                Assert.Contains(entries.Keys, e => e.StartsWith($"{root}runtimes/{rid}/native/", StringComparison.Ordinal) && e.Contains("onnxruntime", StringComparison.Ordinal));
            foreach (var e in entries.Keys)
            {
                Assert.DoesNotContain("torch", e, StringComparison.OrdinalIgnoreCase);
                Assert.False(e.Contains("/runtimes/android/", StringComparison.Ordinal) || e.Contains("/runtimes/ios/", StringComparison.Ordinal), $"mobile natives shipped: {e}");
                Assert.False(e.EndsWith(".lib", StringComparison.Ordinal), $"import library shipped: {e}");
                Assert.False(e.StartsWith(root + "onnxruntime", StringComparison.Ordinal), $"a Windows DLL beside sedd.dll: {e}");
            }
            // The CPU flavour carries no CUDA provider.
            Assert.DoesNotContain(entries.Keys, e => e.Contains("providers_cuda", StringComparison.Ordinal));

            // Install from the local feed only (a public package of the same name can never be taken).
            var user = Path.Combine(work, "user");
            Directory.CreateDirectory(user);
            DotnetCli.WriteOfflineNuGetConfig(user, feed, Path.Combine(work, "packages"));
            var tools = Path.Combine(work, "tools");
            var install = DotnetCli.Dotnet(user, "tool", "install", "--tool-path", tools, "sedd-cpu");
            Assert.True(install.Code == 0, $"dotnet tool install failed; {install}");
            var sedd = Path.Combine(tools, OperatingSystem.IsWindows() ? "sedd.exe" : "sedd");
            Assert.True(File.Exists(sedd), $"no {sedd} after install; {install}");

            // Any folder: no models/ above it, nothing set: the model inside the tool.
            var anywhere = Path.Combine(work, "anywhere");
            Directory.CreateDirectory(anywhere);
            var sample = DotnetCli.Run(sedd, anywhere, null, "sample", "--steps", "4", "--length", "32", "--seed", "3");
            Assert.True(sample.Code == 0 && sample.Out.Trim().Length > 0, $"the installed tool does not sample; {sample}");
            AssertPackage(DotnetCli.Run(sedd, anywhere, null, "info"), Path.Combine(".store", "sedd-cpu"), modelName);

            // $SEDD_MODEL and --model come first (--model over $SEDD_MODEL), also when they are wrong.
            var copy = Path.Combine(work, "elsewhere", "my-model");
            Directory.CreateDirectory(copy);
            foreach (var file in Directory.GetFiles(model)) File.Copy(file, Path.Combine(copy, Path.GetFileName(file)));
            var env = new Dictionary<string, string?> { ["SEDD_MODEL"] = copy };
            AssertPackage(DotnetCli.Run(sedd, anywhere, env, "info"), copy, "my-model");
            var viaEnv = DotnetCli.Run(sedd, anywhere, env, "sample", "--steps", "4", "--length", "32", "--seed", "3");
            Assert.True(viaEnv.Code == 0 && viaEnv.Out == sample.Out, $"the same package through $SEDD_MODEL gives other text; {viaEnv}");
            var missing = Path.Combine(work, "no-such-model");
            ToolProcess.AssertOneLineFailure(DotnetCli.Run(sedd, anywhere, new Dictionary<string, string?> { ["SEDD_MODEL"] = missing }, "info"),
                "sedd", SeddException.BadInput, quietStdout: true, "no-such-model");
            AssertPackage(DotnetCli.Run(sedd, anywhere, new Dictionary<string, string?> { ["SEDD_MODEL"] = missing }, "info", "--model", copy), copy, "my-model");
            ToolProcess.AssertOneLineFailure(DotnetCli.Run(sedd, anywhere, env, "info", "--model", missing),
                "sedd", SeddException.BadInput, quietStdout: true, "no-such-model");
        }
        finally { DotnetCli.Remove(work); }
    }

    [Fact]
    public void SeddToolPackageTest_PublishForThisPlatformHasItsNativesOnlyAndTheModel()
    {
        // The linux-x64 (or this machine's) publish, framework-dependent so that no runtime pack is fetched:
        // which natives and files it holds does not depend on that.
        var rid = System.Runtime.InteropServices.RuntimeInformation.RuntimeIdentifier;
        if (OperatingSystem.IsWindows()) return; // the check is that a non-Windows folder holds no Windows DLLs
        var model = DefaultModel();
        var work = DotnetCli.TempFolder("sedd-publish");
        try
        {
            var output = Path.Combine(work, "out");
            var publish = DotnetCli.Dotnet(Goldens.RepoRoot, "publish", Path.Combine(Goldens.RepoRoot, "runtime", "sedd", "sedd.csproj"),
                "-c", "Release", "-r", rid, "--self-contained", "false", "-p:OrtFlavor=cpu", "--artifacts-path", Path.Combine(work, "artifacts"), "-o", output);
            Assert.True(publish.Code == 0, $"dotnet publish runtime/sedd -r {rid} failed; {publish}");

            var files = Directory.GetFiles(output, "*", SearchOption.AllDirectories).Select(f => Path.GetRelativePath(output, f).Replace('\\', '/')).ToArray();
            Assert.Contains(files, f => f.StartsWith("libonnxruntime.", StringComparison.Ordinal)); // this platform's native, beside sedd
            Assert.DoesNotContain(files, f => f.StartsWith("runtimes/", StringComparison.Ordinal) && f.Contains("onnxruntime", StringComparison.Ordinal));
            foreach (var f in files.Where(f => f.EndsWith(".dll", StringComparison.OrdinalIgnoreCase)))
                Assert.False(IsNativeWindowsDll(Path.Combine(output, f)), $"a native Windows DLL in the {rid} folder: {f}");
            foreach (var file in Directory.GetFiles(model))
                Assert.True(File.Exists(Path.Combine(output, "models", Path.GetFileName(model), Path.GetFileName(file))), $"the published folder lacks models/{Path.GetFileName(model)}/{Path.GetFileName(file)}");

            // It runs from any folder with the model beside it.
            var anywhere = Path.Combine(work, "anywhere");
            Directory.CreateDirectory(anywhere);
            AssertPackage(DotnetCli.Run(Path.Combine(output, "sedd"), anywhere, null, "info"), output, Path.GetFileName(model));
        }
        finally { DotnetCli.Remove(work); }
    }

    /// <summary>A PE file without a CLI header: native code for Windows (managed assemblies are PE files too, and fine).</summary>
    static bool IsNativeWindowsDll(string path)
    {
        using var stream = File.OpenRead(path);
        using var pe = new System.Reflection.PortableExecutable.PEReader(stream);
        return pe.PEHeaders.CorHeader == null;
    }

    static void AssertPackage(ToolResult info, string folderPart, string name)
    {
        Assert.True(info.Code == 0, $"sedd info failed; {info}");
        var line = info.Out.Split('\n').FirstOrDefault(l => l.StartsWith("package:", StringComparison.Ordinal)) ?? "";
        Assert.True(line.Contains(folderPart, StringComparison.Ordinal) && line.TrimEnd().EndsWith(name, StringComparison.Ordinal),
            $"expected the package under {folderPart} named {name}; {info}");
    }

    static string DefaultModel()
    {
        var packages = Directory.GetDirectories(Path.Combine(Goldens.RepoRoot, "models"))
            .Where(d => !Path.GetFileName(d).StartsWith('.') && File.Exists(Path.Combine(d, ModelPackage.ManifestFile))).ToArray();
        Assert.True(packages.Length == 1, $"models/ must hold exactly one package (the tool ships it); found {packages.Length}");
        return packages[0];
    }
}
