using Sedd.Tests;

namespace Sedd.Runtime.Tests.Packaging;

/// <summary>
/// The Sedd.Runtime NuGet package as <c>dotnet pack runtime/Sedd.Runtime</c> makes it from the library the
/// solution just built (no second build), packed once per test run into a folder outside the repository.
/// </summary>
static class PackedRuntime
{
    static readonly Lazy<string> feed = new(Pack);

    /// <summary>The folder holding Sedd.Runtime.VERSION.nupkg (a local NuGet feed).</summary>
    public static string Feed => feed.Value;

    /// <summary>The package file.</summary>
    public static string Nupkg => DotnetCli.Package(Feed, "Sedd.Runtime");

    static string Pack()
    {
        var folder = DotnetCli.TempFolder("sedd-runtime-feed");
        var project = Path.Combine(Goldens.RepoRoot, "runtime", "Sedd.Runtime", "Sedd.Runtime.csproj");
        var r = DotnetCli.Dotnet(Goldens.RepoRoot, "pack", project, "-c", DotnetCli.Configuration, "--no-build", "-o", folder);
        Assert.True(r.Code == 0, $"dotnet pack runtime/Sedd.Runtime failed; {r}");
        AppDomain.CurrentDomain.ProcessExit += (_, _) => DotnetCli.Remove(folder);
        return folder;
    }
}
