using System.Runtime.InteropServices;

namespace Sedd.Cli;

/// <summary>
/// sedd: sample, infill, info, bench. Every failure is one line "sedd: ..." on stderr, never a stack
/// trace. Exit codes: 0 ok, 1 usage (bad option or argument), 2 bad input (package, prompt file),
/// 3 environment (an execution provider or native library that cannot start), 130 cancelled (Ctrl+C),
/// 70 internal error (a bug; SEDD_DEBUG=1 shows the stack trace).
/// </summary>
static class SeddApp
{
    static readonly CancellationTokenSource Interrupt = new();

    /// <summary>Cancelled by Ctrl+C (SIGINT) or SIGTERM, from the first moment of the process on.</summary>
    public static CancellationToken Interrupted => Interrupt.Token;

    public static int Run(string[] args)
    {
        // Registered before the host exists, so a Ctrl+C during start-up is not lost; the command loops
        // check the token between steps and the run ends with 130.
        using var sigint = PosixSignalRegistration.Create(PosixSignal.SIGINT, OnSignal);
        using var sigterm = PosixSignalRegistration.Create(PosixSignal.SIGTERM, OnSignal);
        return CliHost.Run<SeddCommands>("sedd", args, Interrupted, ["--model", "-m", "--output", "-o", "--prompt-file", "-f"]);
    }

    static void OnSignal(PosixSignalContext context)
    {
        context.Cancel = true;
        Interrupt.Cancel();
    }
}
