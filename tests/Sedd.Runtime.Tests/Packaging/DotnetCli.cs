using System.Diagnostics;
using System.IO.Compression;
using System.Reflection;
using System.Text;
using System.Xml.Linq;
using Sedd.Tests;
using Sedd.Tests.Shared;

namespace Sedd.Runtime.Tests.Packaging;

/// <summary>
/// Runs <c>dotnet</c> (pack, build, tool install) and installed tools as child processes, in a chosen
/// folder and environment, and reads the NuGet packages they make. The packaging tests use it to do what
/// a user does after cloning: pack, install, run from a folder outside the repository.
/// </summary>
static class DotnetCli
{
    static readonly TimeSpan Timeout = TimeSpan.FromMinutes(10);

    /// <summary>The configuration the solution was built with (the test run's own).</summary>
    public static string Configuration { get; } = typeof(DotnetCli).Assembly.GetCustomAttributes<AssemblyMetadataAttribute>()
        .Single(a => a.Key == "Configuration").Value!;

    /// <summary>The user's NuGet package cache, which the solution's restore filled.</summary>
    public static string PackageCache { get; } = Environment.GetEnvironmentVariable("NUGET_PACKAGES") is { Length: > 0 } p
        ? p : Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".nuget", "packages");

    /// <summary>Runs <c>dotnet args</c> in <paramref name="folder"/> (at most ten minutes).</summary>
    public static ToolResult Dotnet(string folder, params string[] args) =>
        Run(Environment.GetEnvironmentVariable("DOTNET_HOST_PATH") ?? "dotnet", folder, null, args);

    /// <summary>Runs any program in <paramref name="folder"/>, with <paramref name="environment"/> on top of
    /// this process's (null removes a variable); SEDD_MODEL and SEDD_DEBUG are removed unless given.</summary>
    public static ToolResult Run(string program, string folder, IReadOnlyDictionary<string, string?>? environment, params string[] args)
    {
        var start = new ProcessStartInfo(program)
        {
            WorkingDirectory = folder,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            StandardOutputEncoding = Encoding.UTF8,
            StandardErrorEncoding = Encoding.UTF8,
            UseShellExecute = false,
        };
        foreach (var a in args) start.ArgumentList.Add(a);
        start.Environment.Remove("SEDD_MODEL");
        start.Environment.Remove("SEDD_DEBUG");
        // A child build leaves no MSBuild node behind to outlive the test run.
        start.Environment["MSBUILDDISABLENODEREUSE"] = "1";
        start.Environment["DOTNET_CLI_TELEMETRY_OPTOUT"] = "1";
        start.Environment["DOTNET_NOLOGO"] = "1";
        if (environment != null)
            foreach (var (k, v) in environment)
                if (v == null) start.Environment.Remove(k); else start.Environment[k] = v;
        using var process = Process.Start(start)!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        if (!process.WaitForExit(Timeout))
        {
            process.Kill(entireProcessTree: true);
            throw new TimeoutException($"{program} {string.Join(' ', args)} did not finish within {Timeout.TotalMinutes} minutes");
        }
        process.WaitForExit();
        return new(process.ExitCode, stdout.Result, stderr.Result);
    }

    /// <summary>A NuGet config that restores only from <paramref name="feed"/> and the user's package cache,
    /// so nothing reaches the network and no package of the same name from a public feed can be taken.</summary>
    public static void WriteOfflineNuGetConfig(string folder, string feed, string packagesFolder) =>
        File.WriteAllText(Path.Combine(folder, "nuget.config"), new XDocument(new XElement("configuration",
            new XElement("config", new XElement("add", new XAttribute("key", "globalPackagesFolder"), new XAttribute("value", packagesFolder))),
            new XElement("packageSources", new XElement("clear"), new XElement("add", new XAttribute("key", "local"), new XAttribute("value", feed))),
            new XElement("fallbackPackageFolders", new XElement("clear"), new XElement("add", new XAttribute("key", "cache"), new XAttribute("value", PackageCache))))).ToString());

    /// <summary>The one .nupkg in <paramref name="feed"/> whose id is <paramref name="id"/> (symbols packages aside).</summary>
    public static string Package(string feed, string id)
    {
        var found = Directory.GetFiles(feed, "*.nupkg").Where(f => Nuspec(f).Id == id).ToArray();
        Assert.True(found.Length == 1, $"expected one {id} package in {feed}, found {found.Length}: {string.Join(", ", Directory.GetFiles(feed).Select(Path.GetFileName))}");
        return found[0];
    }

    /// <summary>The entries of a package (zip) with their uncompressed sizes.</summary>
    public static Dictionary<string, long> Entries(string nupkg)
    {
        using var zip = ZipFile.OpenRead(nupkg);
        return zip.Entries.ToDictionary(e => e.FullName, e => e.Length);
    }

    /// <summary>One text entry of a package.</summary>
    public static string ReadEntry(string nupkg, string entry)
    {
        using var zip = ZipFile.OpenRead(nupkg);
        var e = zip.GetEntry(entry);
        Assert.True(e != null, $"{Path.GetFileName(nupkg)} has no {entry}");
        using var reader = new StreamReader(e.Open());
        return reader.ReadToEnd();
    }

    /// <summary>The package's nuspec: metadata elements by local name, and the dependency ids.</summary>
    public static NuspecFacts Nuspec(string nupkg)
    {
        using var zip = ZipFile.OpenRead(nupkg);
        var entry = zip.Entries.Single(e => e.FullName.EndsWith(".nuspec", StringComparison.Ordinal) && !e.FullName.Contains('/', StringComparison.Ordinal));
        using var stream = entry.Open();
        var doc = XDocument.Load(stream);
        var metadata = doc.Root!.Elements().Single(e => e.Name.LocalName == "metadata");
        var fields = metadata.Elements().GroupBy(e => e.Name.LocalName).ToDictionary(g => g.Key, g => g.First().Value.Trim());
        var dependencies = metadata.Descendants().Where(e => e.Name.LocalName == "dependency").Select(e => (string)e.Attribute("id")!).ToArray();
        var types = metadata.Descendants().Where(e => e.Name.LocalName == "packageType").Select(e => (string)e.Attribute("name")!).ToArray();
        return new(fields.GetValueOrDefault("id") ?? "", fields, dependencies, types);
    }

    /// <summary>A fresh folder under the system's temp folder (outside the repository), removed by the caller.</summary>
    public static string TempFolder(string prefix)
    {
        var folder = Path.Combine(Path.GetTempPath(), $"{prefix}-{Guid.NewGuid():N}");
        Directory.CreateDirectory(folder);
        Assert.False(Path.GetFullPath(folder).StartsWith(Goldens.RepoRoot, StringComparison.Ordinal), "temp folder inside the repository");
        return folder;
    }

    /// <summary>Removes a folder this test created; a leftover is no failure.</summary>
    public static void Remove(string folder)
    {
        try { Directory.Delete(folder, recursive: true); } catch (IOException) { } catch (UnauthorizedAccessException) { }
    }
}

/// <summary>What a nuspec says.</summary>
sealed record NuspecFacts(string Id, IReadOnlyDictionary<string, string> Fields, IReadOnlyList<string> Dependencies, IReadOnlyList<string> PackageTypes);
