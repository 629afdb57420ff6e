using Sedd.Tests.Shared;

namespace Sedd.Trainer.Tests.Cli;

/// <summary>
/// Runs the built <c>sedd-train</c> (copied beside the test assembly) as a child process, so a test sees
/// exactly what a user sees: the exit code, stdout and stderr of a fresh process, Cocona's host included.
/// </summary>
static class CliProcess
{
    static string Dll => Path.Combine(AppContext.BaseDirectory, "sedd-train.dll");

    public static ToolResult Run(string workingDirectory, params string[] args) => ToolProcess.Run(Dll, workingDirectory, null, args);

    /// <summary><see cref="Run(string, string[])"/> with these environment variables set (or replaced) for the child.</summary>
    public static ToolResult Run(string workingDirectory, string[] args, IReadOnlyDictionary<string, string> environment) =>
        ToolProcess.Run(Dll, workingDirectory, environment, args);

    /// <summary>Fails unless the run exited with <paramref name="code"/> and printed exactly one "sedd-train: ..." line to stderr, no stack trace.</summary>
    public static void AssertOneLineFailure(ToolResult r, int code, string expectedText) =>
        ToolProcess.AssertOneLineFailure(r, "sedd-train", code, quietStdout: false, expectedText);
}
