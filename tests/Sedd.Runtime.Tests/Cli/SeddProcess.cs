using System.Diagnostics;
using System.Reflection;
using Sedd.Tests.Shared;

namespace Sedd.Runtime.Tests.Cli;

/// <summary>
/// Runs the built <c>sedd</c> (from its own output folder, with its own native ONNX Runtime) as a child
/// process, so a test sees what a user sees: exit code, stdout and stderr of a fresh process.
/// </summary>
static class SeddProcess
{
    public static string Dll { get; } = Path.GetFullPath(typeof(SeddProcess).Assembly.GetCustomAttributes<AssemblyMetadataAttribute>()
        .Single(a => a.Key == "SeddCli").Value!);

    public static ToolResult Run(params string[] args) => Run(null, args);

    public static ToolResult Run(IReadOnlyDictionary<string, string>? environment, params string[] args) =>
        ToolProcess.Run(Dll, Path.GetTempPath(), environment, args);

    public static Process Start(IReadOnlyDictionary<string, string>? environment, params string[] args) =>
        ToolProcess.Start(Dll, Path.GetTempPath(), environment, args);

    /// <summary>Fails unless the run exited with <paramref name="code"/> and printed exactly one "sedd: ..." line to stderr (nothing to stdout), no stack trace.</summary>
    public static void AssertOneLineFailure(ToolResult r, int code, params string[] expectedTexts) =>
        ToolProcess.AssertOneLineFailure(r, "sedd", code, quietStdout: true, expectedTexts);
}
