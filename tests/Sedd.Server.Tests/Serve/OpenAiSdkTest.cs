using System.Diagnostics;
using System.Reflection;
using System.Text.Json.Nodes;
using Sedd.Tests.Shared;

namespace Sedd.Server.Tests.Serve;

/// <summary>
/// The official OpenAI Node SDK (npm openai, major 7) drives the server as a user's program would:
/// models, completions with Sedd's fields passed through, n = 3, suffix, streaming, and typed errors
/// (node/openai-client.mjs). The SDK is installed once into .cache/openai-node with npm.
/// </summary>
[Collection("server")]
public sealed class OpenAiSdkTest(ServerFixture fixture)
{
    const string Package = "openai@7.59.0";

    static string Scripts { get; } = typeof(OpenAiSdkTest).Assembly.GetCustomAttributes<AssemblyMetadataAttribute>().Single(a => a.Key == "NodeScripts").Value!;

    [Fact]
    public async Task OpenAiSdkTest_TheNodeSdkCompletesStreamsAndReadsErrors()
    {
        var modules = InstallSdk();
        var r = Run("node", Path.Combine(Scripts, "openai-client.mjs"), new Uri(fixture.Server.Url, "v1").ToString(), ServerFixture.ApiKey, modules);
        Assert.True(r.Code == 0, r.ToString());
        var seen = JsonNode.Parse(r.Out.Trim().Split('\n')[^1])!;
        Assert.Equal(fixture.ModelId, (string)seen["model"]!);

        // What the SDK got is what the server gives any client for the same request.
        var direct = await fixture.CompleteOk("""{"prompt":"The cat","max_tokens":24,"seed":7,"steps":6,"n":3}""");
        Assert.Equal(direct["choices"]!.AsArray().Select(c => (string)c!["text"]!), seen["three"]!.AsArray().Select(t => (string)t!));
        Assert.Equal((string)direct["choices"]![0]!["text"]!, (string)seen["single"]!);
    }

    // npm install into the repository's .cache (ignored by git), once per machine.
    static string InstallSdk()
    {
        var dir = Path.Combine(Sedd.Tests.Goldens.RepoRoot, ".cache", "openai-node");
        var marker = Path.Combine(dir, "node_modules", "openai", "package.json");
        var version = Package[(Package.IndexOf('@', StringComparison.Ordinal) + 1)..];
        if (File.Exists(marker) && (string?)JsonNode.Parse(File.ReadAllText(marker))?["version"] == version) return dir;
        Directory.CreateDirectory(dir);
        var r = Run("npm", "install", "--no-audit", "--no-fund", "--no-save", "--loglevel=error", "--prefix", dir, Package);
        Assert.True(r.Code == 0 && File.Exists(marker), $"npm install {Package} failed (npm is needed for this test; .ci/run installs it): {r}");
        return dir;
    }

    static ToolResult Run(string exe, params string[] args)
    {
        ProcessStartInfo start;
        try { start = new ProcessStartInfo(exe) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false }; }
        catch (System.ComponentModel.Win32Exception e) { throw new InvalidOperationException($"{exe} cannot start: {e.Message}", e); }
        foreach (var a in args) start.ArgumentList.Add(a);
        using var process = Process.Start(start)!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        if (!process.WaitForExit(TimeSpan.FromMinutes(5)))
        {
            process.Kill(entireProcessTree: true);
            Assert.Fail($"{exe} {string.Join(' ', args)} did not finish within 5 minutes");
        }
        process.WaitForExit();
        return new ToolResult(process.ExitCode, stdout.Result, stderr.Result);
    }
}
