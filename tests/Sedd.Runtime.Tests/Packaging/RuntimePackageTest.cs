using System.Text.RegularExpressions;
using System.Xml.Linq;
using Sedd.Tests;

namespace Sedd.Runtime.Tests.Packaging;

/// <summary>
/// The Sedd.Runtime NuGet package (runtime/Sedd.Runtime/Sedd.Runtime.csproj): its metadata, readme and XML
/// docs, and the README's embedding example, compiled against the package and run as a user's program.
/// </summary>
public sealed partial class RuntimePackageTest
{
    /// <summary>Marks the README's embedding example: the next C# code block after it.</summary>
    const string ExampleMarker = "<!-- embedding-example -->";

    [Fact]
    public void RuntimePackageTest_HasMetadataReadmeAndDocs()
    {
        var nupkg = PackedRuntime.Nupkg;
        var nuspec = DotnetCli.Nuspec(nupkg);
        Assert.Equal("Sedd.Runtime", nuspec.Id);
        Assert.Matches(@"^\d+\.\d+\.\d+", nuspec.Fields["version"]);
        Assert.False(string.IsNullOrWhiteSpace(nuspec.Fields.GetValueOrDefault("description")), "no description");
        Assert.False(string.IsNullOrWhiteSpace(nuspec.Fields.GetValueOrDefault("authors")), "no authors");
        Assert.Equal("MIT", nuspec.Fields.GetValueOrDefault("license"));
        Assert.Equal("README.md", nuspec.Fields.GetValueOrDefault("readme"));

        var entries = DotnetCli.Entries(nupkg);
        Assert.Contains("lib/net10.0/Sedd.Runtime.dll", entries.Keys);
        // XML docs: IntelliSense for every public type, the generator among them.
        var docs = XDocument.Parse(DotnetCli.ReadEntry(nupkg, "lib/net10.0/Sedd.Runtime.xml"));
        Assert.Contains(docs.Descendants("member"), m => (string?)m.Attribute("name") == "T:Sedd.Runtime.Generation.SeddGenerator");
        // The library leaves the native flavour to the application: no ONNX Runtime binaries inside.
        Assert.DoesNotContain(entries.Keys, e => e.StartsWith("runtimes/", StringComparison.Ordinal));
        Assert.Contains("Microsoft.ML.OnnxRuntime.Managed", nuspec.Dependencies);
        Assert.DoesNotContain(nuspec.Dependencies, d => d.StartsWith("Microsoft.ML.OnnxRuntime", StringComparison.Ordinal) && d != "Microsoft.ML.OnnxRuntime.Managed");

        // The package readme shows the same example as the repository's README.
        var readme = DotnetCli.ReadEntry(nupkg, "README.md");
        Assert.Contains(Normalise(ReadmeExample()), Normalise(readme), StringComparison.Ordinal);
    }

    [Fact]
    public void RuntimePackageTest_ReadmeEmbeddingExampleCompilesAndRunsAgainstThePackage()
    {
        var code = ReadmeExample();
        int lines = code.Split('\n').Count(l => l.Trim().Length > 0);
        Assert.True(lines <= 10, $"the README's embedding example has {lines} lines of code; it promises ten at most");

        var version = DotnetCli.Nuspec(PackedRuntime.Nupkg).Fields["version"];
        var ortVersion = CentralVersion("Microsoft.ML.OnnxRuntime");
        var folder = DotnetCli.TempFolder("sedd-embedding-example");
        try
        {
            // A user's console app: the package from a local feed plus one native ONNX Runtime package, restored
            // offline from the packages the solution's restore already fetched.
            DotnetCli.WriteOfflineNuGetConfig(folder, PackedRuntime.Feed, Path.Combine(folder, "packages"));
            File.WriteAllText(Path.Combine(folder, "Example.csproj"), $"""
                <Project Sdk="Microsoft.NET.Sdk">
                  <PropertyGroup>
                    <OutputType>Exe</OutputType>
                    <TargetFramework>net10.0</TargetFramework>
                    <ImplicitUsings>enable</ImplicitUsings>
                    <Nullable>enable</Nullable>
                    <TreatWarningsAsErrors>true</TreatWarningsAsErrors>
                  </PropertyGroup>
                  <ItemGroup>
                    <PackageReference Include="Sedd.Runtime" Version="{version}" />
                    <PackageReference Include="Microsoft.ML.OnnxRuntime" Version="{ortVersion}" />
                  </ItemGroup>
                </Project>
                """);
            File.WriteAllText(Path.Combine(folder, "Program.cs"), code);
            var build = DotnetCli.Dotnet(folder, "build", "-c", "Release", "-o", Path.Combine(folder, "out"));
            Assert.True(build.Code == 0, $"the README's example does not build against the package; {build}");

            // Run from the repository root, where the example's relative model path points.
            var run = DotnetCli.Run(Environment.GetEnvironmentVariable("DOTNET_HOST_PATH") ?? "dotnet", Goldens.RepoRoot, null,
                Path.Combine(folder, "out", "Example.dll"));
            Assert.True(run.Code == 0 && run.Err.Length == 0, $"the README's example failed; {run}");
            var printed = run.Out.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
            Assert.True(printed.Length >= 1 && printed.All(l => l.Length > 0), $"the example printed no text; {run}");
            // The prompt it fixes comes back in front of the generated text.
            foreach (Match m in PromptRegex().Matches(code))
                Assert.Contains(m.Groups[1].Value, run.Out, StringComparison.Ordinal);
        }
        finally { DotnetCli.Remove(folder); }
    }

    /// <summary>The code of the C# block that follows the marker in README.md.</summary>
    internal static string ReadmeExample()
    {
        var readme = File.ReadAllText(Path.Combine(Goldens.RepoRoot, "README.md")).ReplaceLineEndings("\n");
        int marker = readme.IndexOf(ExampleMarker, StringComparison.Ordinal);
        Assert.True(marker >= 0, $"README.md has no {ExampleMarker} marker before its embedding example");
        int open = readme.IndexOf("```csharp\n", marker, StringComparison.Ordinal);
        Assert.True(open >= 0, "no ```csharp block after the embedding-example marker");
        int start = open + "```csharp\n".Length;
        int end = readme.IndexOf("\n```", start, StringComparison.Ordinal);
        Assert.True(end > start, "the embedding example's code block is not closed");
        return readme[start..end] + "\n";
    }

    static string CentralVersion(string package)
    {
        var props = XDocument.Load(Path.Combine(Goldens.RepoRoot, "Directory.Packages.props"));
        return (string)props.Descendants("PackageVersion").Single(e => (string?)e.Attribute("Include") == package).Attribute("Version")!;
    }

    static string Normalise(string text) => text.ReplaceLineEndings("\n").Trim();

    [GeneratedRegex("Prompt = \"([^\"\\\\]+)\"")]
    private static partial Regex PromptRegex();
}
