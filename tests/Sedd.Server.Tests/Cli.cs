using System.Text.Json.Nodes;
using Sedd.Tests.Shared;

namespace Sedd.Server.Tests;

/// <summary>`sedd sample` and `sedd infill` as a child process, for comparing the server's texts with the CLI's.</summary>
static class Cli
{
    static string Dll => ServerProcess.Dll;

    public static ToolResult Run(params string[] args) => ToolProcess.Run(Dll, Path.GetTempPath(), null, args);

    /// <summary>The CLI's JSON lines of a run that must succeed.</summary>
    public static JsonObject[] Lines(params string[] args)
    {
        var r = Run([.. args, "--provider", "cpu", "--format", "jsonl"]);
        Assert.True(r.Code == 0, r.ToString());
        return [.. r.Out.Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(l => JsonNode.Parse(l)!.AsObject())];
    }
}
