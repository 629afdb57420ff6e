using System.Runtime.InteropServices;
using Sedd.Cli;

namespace Sedd.Trainer.Cli;

/// <summary>
/// sedd-train: prepare, train, eval, bench. Exit codes: 0 ok, 1 usage, 2 bad input (file, corpus,
/// checkpoint), 3 environment (missing dependency, unwritable folder), 130 cancelled (Ctrl+C, after
/// a checkpoint is written).
/// </summary>
static class TrainerApp
{
    static readonly CancellationTokenSource Interrupt = new();

    /// <summary>Cancelled by Ctrl+C (SIGINT) or SIGTERM from the first moment of the process on.</summary>
    public static CancellationToken Interrupted => Interrupt.Token;

    public static int Run(string[] args)
    {
        // First: may start the process again with glibc's heap settings (returns here when it does not).
        NativeHeap.UseMainHeap();
        // Before anything loads libtorch (and with it libgomp, which reads the variable once).
        Training.OpenMpWaitPolicy.PreferPassive();
        // Registered before the host exists, so that a signal during start-up is not the runtime's default
        // (an immediate exit 143) but a cancellation the command sees at its first check.
        using var sigint = PosixSignalRegistration.Create(PosixSignal.SIGINT, OnSignal);
        using var sigterm = PosixSignalRegistration.Create(PosixSignal.SIGTERM, OnSignal);
        return CliHost.Run<TrainerCommands>("sedd-train", args, Interrupted, ["--config", "--data", "--corpus", "--output", "-o", "--model", "-m", "--init", "--brown-path", "--json", "--cache"]);
    }

    static void OnSignal(PosixSignalContext context)
    {
        context.Cancel = true;
        Interrupt.Cancel();
    }
}
