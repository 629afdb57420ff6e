using System.Runtime.InteropServices;
using Sedd.Cli;

namespace Sedd.Exporter.Cli;

/// <summary>
/// sedd-export: one checkpoint in, one verified model package out. Exit codes: 0 ok, 1 usage
/// (bad option, an --out that may not be written or replaced), 2 bad input (checkpoint, config, failed
/// verification), 3 environment (unwritable destination, not enough memory), 130 cancelled (Ctrl+C or
/// SIGTERM: nothing written, an old package untouched). Failures are one stderr line.
/// </summary>
static class ExporterApp
{
    static readonly CommitGate Gate = new();

    /// <summary>
    /// Cancelled by Ctrl+C (SIGINT) or SIGTERM from the first moment of the process on, until the new
    /// package is in place (see <see cref="CommitGate"/>).
    /// </summary>
    public static CommitGate Interruption => Gate;

    public static int Run(string[] args)
    {
        // Registered before the host exists, so a signal during start-up is not lost; every long step of
        // the export checks the token, and the run ends with 130 and the old package untouched.
        using var sigint = PosixSignalRegistration.Create(PosixSignal.SIGINT, OnSignal);
        using var sigterm = PosixSignalRegistration.Create(PosixSignal.SIGTERM, OnSignal);
        NativeHeap.ReturnLargeBlocks();
        return CliHost.Run<ExportCommand>("sedd-export", args, Gate.Token);
    }

    static void OnSignal(PosixSignalContext context)
    {
        context.Cancel = true;
        // After the commit the export is done: a late signal does not turn it into a failure.
        Gate.Cancel();
    }
}
