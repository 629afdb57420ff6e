using Cocona;
using Cocona.Command.Binder;
using Cocona.Filters;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Sedd.Runtime;

namespace Sedd.Exporter.Cli;

/// <summary>
/// sedd-export: one checkpoint in, one verified model package out. Exit codes: 0 ok, 1 usage
/// (bad option, existing output without --force), 2 bad input (checkpoint, config, failed
/// verification), 3 environment (unwritable destination). Failures are one stderr line.
/// </summary>
static class ExporterApp
{
    public static int Run(string[] args)
    {
        try
        {
            var builder = CoconaApp.CreateBuilder(args, o => o.EnableShellCompletionSupport = false);
            builder.Logging.ClearProviders();
            builder.Services.AddSingleton<ExportCommand>();
            var app = builder.Build();
            // Cocona prints a command's exception with its stack trace; the filter reports it first, as one
            // line with its exit code. It must precede AddCommands to apply.
            app.UseFilter(ReportFailures);
            app.AddCommands<ExportCommand>();
            app.Run();
            int code = Environment.ExitCode;
            // Cocona reports --help with 129; asking for help is not a failure.
            return code == 129 && args.Any(a => a is "--help" or "-h") ? 0 : code;
        }
        catch (Exception e) when (IsReported(e))
        {
            return Report(e);
        }
    }

    static async ValueTask<int> ReportFailures(CoconaCommandExecutingContext context, CommandExecutionDelegate next)
    {
        try { return await next(context).ConfigureAwait(false); }
        // Binding errors and explicit exits are Cocona's to report (one "Error: ..." line, exit 1).
        catch (Exception e) when (e is not (ParameterBinderException or CommandExitedException) && IsReported(e)) { return Report(e); }
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
                Console.Error.WriteLine($"sedd-export: {s.Message}");
                return s.ExitCode;
            case OperationCanceledException:
                Console.Error.WriteLine("sedd-export: cancelled");
                return SeddException.Cancelled;
            default:
                var inner = e is AggregateException or TypeInitializationException && e.InnerException != null ? e.InnerException : e;
                if (inner is SeddException or OperationCanceledException) return Report(inner);
                Console.Error.WriteLine($"sedd-export: internal error: {inner.GetType().Name}: {inner.Message.Split('\n')[0]} (set SEDD_DEBUG=1 for details)");
                return 70;
        }
    }
}
