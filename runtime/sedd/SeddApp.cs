using Cocona;
using Cocona.Command.Binder;
using Cocona.Filters;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using System.Runtime.InteropServices;
using Sedd.Runtime;

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
        try
        {
            var builder = CoconaApp.CreateBuilder(args, o => o.EnableShellCompletionSupport = false);
            builder.Logging.ClearProviders();
            builder.Services.AddSingleton<SeddCommands>();
            var app = builder.Build();
            // Cocona would print a command's exception with its stack trace; this filter reports it first
            // as one line. It must precede AddCommands to apply.
            app.UseFilter(ReportFailures);
            app.AddCommands<SeddCommands>();
            app.Run();
            int code = Environment.ExitCode;
            if (Interrupt.IsCancellationRequested && code == 0) return Report(new OperationCanceledException());
            // Cocona exits 129 after --help; asking for help is not a failure.
            return code == 129 && args.Any(a => a is "--help" or "-h") ? 0 : code;
        }
        catch (Exception e) when (IsReported(e))
        {
            return Report(e);
        }
    }

    static void OnSignal(PosixSignalContext context)
    {
        context.Cancel = true;
        Interrupt.Cancel();
    }

    static async ValueTask<int> ReportFailures(CoconaCommandExecutingContext context, CommandExecutionDelegate next)
    {
        try { return await next(context).ConfigureAwait(false); }
        catch (ParameterBinderException e)
        {
            Console.Error.WriteLine($"sedd: {OneLine(e.Message)}");
            return SeddException.Usage;
        }
        catch (Exception e) when (e is not CommandExitedException && IsReported(e)) { return Report(e); }
    }

    // With SEDD_DEBUG set, unexpected exceptions keep their stack trace.
    static bool IsReported(Exception e) =>
        e is SeddException or OperationCanceledException || Environment.GetEnvironmentVariable("SEDD_DEBUG") is null;

    /// <summary>Writes the one stderr line for <paramref name="e"/> and returns the exit code.</summary>
    static int Report(Exception e)
    {
        switch (e)
        {
            case SeddException s:
                Console.Error.WriteLine($"sedd: {OneLine(s.Message)}");
                return s.ExitCode;
            case OperationCanceledException:
                Console.Error.WriteLine("sedd: cancelled");
                return SeddException.Cancelled;
            default:
                var inner = e is AggregateException or TypeInitializationException && e.InnerException != null ? e.InnerException : e;
                if (inner is SeddException or OperationCanceledException) return Report(inner);
                Console.Error.WriteLine($"sedd: internal error: {inner.GetType().Name}: {OneLine(inner.Message)} (set SEDD_DEBUG=1 for details)");
                return 70;
        }
    }

    static string OneLine(string message) => message.Split('\n', 2)[0].TrimEnd('\r');
}
