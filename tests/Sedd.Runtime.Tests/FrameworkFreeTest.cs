using Sedd.Runtime.Tests.Packaging;
using Sedd.Tests;

namespace Sedd.Runtime.Tests;

/// <summary>The runtime is framework-free: neither its assembly nor its project graph may reach TorchSharp.</summary>
public class FrameworkFreeTest
{
    [Fact]
    public void FrameworkFreeTest_RuntimeAssemblyDoesNotReferenceTorchSharp()
    {
        var references = typeof(SeddException).Assembly.GetReferencedAssemblies().Select(a => a.Name ?? "").ToArray();
        Assert.Contains("Microsoft.ML.Tokenizers", references); // the check reads real references
        Assert.DoesNotContain(references, n => n.Contains("Torch", StringComparison.OrdinalIgnoreCase));
    }

    [Fact]
    public void FrameworkFreeTest_RuntimeProjectGraphHasNoTorchSharp()
    {
        // The restore graph lists every package the runtime pulls in, transitively.
        var assets = Path.Combine(Goldens.RepoRoot, "runtime", "Sedd.Runtime", "obj", "project.assets.json");
        Assert.True(File.Exists(assets), $"{assets} missing: restore the solution first");
        // "libraries" lists every package restored for the runtime, transitively (the central version
        // list elsewhere in the file names TorchSharp for the trainer; that is not a reference).
        var libraries = System.Text.Json.Nodes.JsonNode.Parse(File.ReadAllText(assets))!["libraries"]!.AsObject().Select(p => p.Key).ToArray();
        Assert.Contains(libraries, l => l.StartsWith("System.Numerics.Tensors/", StringComparison.Ordinal));
        Assert.DoesNotContain(libraries, l => l.Contains("torch", StringComparison.OrdinalIgnoreCase));
        // The sedd CLI's restore graph too (it brings ONNX Runtime and Cocona, never TorchSharp).
        var cli = Path.Combine(Goldens.RepoRoot, "runtime", "sedd", "obj", "project.assets.json");
        Assert.True(File.Exists(cli), $"{cli} missing: restore the solution first");
        var cliLibraries = System.Text.Json.Nodes.JsonNode.Parse(File.ReadAllText(cli))!["libraries"]!.AsObject().Select(p => p.Key).ToArray();
        Assert.Contains(cliLibraries, l => l.StartsWith("Microsoft.ML.OnnxRuntime.Managed/", StringComparison.Ordinal));
        Assert.DoesNotContain(cliLibraries, l => l.Contains("torch", StringComparison.OrdinalIgnoreCase));
        // What sedd ships: its output folder holds no TorchSharp binary. (This test project's own output may:
        // it builds its tiny packages with the exporter, which references the trainer to verify exports.)
        Assert.Empty(Directory.GetFiles(Path.GetDirectoryName(Cli.SeddProcess.Dll)!, "*Torch*"));
    }

    [Fact]
    public void FrameworkFreeTest_PackedNuspecHasNoTorchSharp()
    {
        // What a NuGet user gets: the packed package's dependencies, and what they pull in, per the runtime's restore graph.
        var nuspec = DotnetCli.Nuspec(PackedRuntime.Nupkg);
        Assert.Contains("Microsoft.ML.Tokenizers", nuspec.Dependencies); // the check reads real dependencies
        Assert.DoesNotContain(nuspec.Dependencies, d => d.Contains("torch", StringComparison.OrdinalIgnoreCase));
        var assets = System.Text.Json.Nodes.JsonNode.Parse(File.ReadAllText(Path.Combine(Goldens.RepoRoot, "runtime", "Sedd.Runtime", "obj", "project.assets.json")))!;
        var closure = assets["targets"]!.AsObject().First().Value!.AsObject().Select(p => p.Key).ToArray();
        foreach (var dependency in nuspec.Dependencies)
            Assert.Contains(closure, l => l.StartsWith(dependency + "/", StringComparison.OrdinalIgnoreCase));
        Assert.DoesNotContain(closure, l => l.Contains("torch", StringComparison.OrdinalIgnoreCase));
        Assert.DoesNotContain(DotnetCli.Entries(PackedRuntime.Nupkg).Keys, e => e.Contains("torch", StringComparison.OrdinalIgnoreCase));
    }
}
