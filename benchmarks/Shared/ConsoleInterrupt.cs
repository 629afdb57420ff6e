using System.Runtime.InteropServices;

namespace Sedd.Cli;

/// <summary>
/// Ctrl+C (SIGINT) and SIGTERM for the benchmark tools, from the first moment of the process on: the
/// signal cancels <see cref="Token"/> instead of killing the process, the measuring loops check it
/// between rounds and steps, and the host reports "cancelled" with exit 130. Linked into
/// <c>sedd-compare</c> and <c>sedd-evidence</c>.
/// </summary>
static class ConsoleInterrupt
{
    static readonly CancellationTokenSource Source = new();
    static PosixSignalRegistration? sigint;
    static PosixSignalRegistration? sigterm;

    /// <summary>Cancelled by the first SIGINT or SIGTERM after <see cref="Register"/>.</summary>
    public static CancellationToken Token => Source.Token;

    /// <summary>Installs the handlers (once per process).</summary>
    public static void Register()
    {
        sigint ??= PosixSignalRegistration.Create(PosixSignal.SIGINT, OnSignal);
        sigterm ??= PosixSignalRegistration.Create(PosixSignal.SIGTERM, OnSignal);
    }

    /// <summary>
    /// The token a command checks: cancelled by a signal or by the host (Cocona cancels its own token on
    /// shutdown). The caller disposes the returned source.
    /// </summary>
    /// <param name="host">The host's token, if any.</param>
    public static CancellationTokenSource Link(CancellationToken host) => CancellationTokenSource.CreateLinkedTokenSource(Token, host);

    static void OnSignal(PosixSignalContext context)
    {
        context.Cancel = true;
        Source.Cancel();
    }
}
