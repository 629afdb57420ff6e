using Cocona;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Sedd.Runtime;

namespace Sedd.Trainer.Cli;

/// <summary>
/// sedd-train: prepare, train, eval, bench. Exit codes: 0 ok, 1 usage, 2 bad input (file, corpus,
/// checkpoint), 3 environment (missing dependency, unwritable folder), 130 cancelled (Ctrl+C, after
/// a checkpoint is written).
/// </summary>
static class TrainerApp
{
    public static int Run(string[] args)
    {
        try
        {
            var builder = CoconaApp.CreateBuilder(args, o => o.EnableShellCompletionSupport = false);
            builder.Logging.ClearProviders();
            builder.Services.AddSingleton<TrainerCommands>();
            var app = builder.Build();
            app.AddCommands<TrainerCommands>();
            app.Run();
            int code = Environment.ExitCode;
            // Cocona reports --help with 129; asking for help is not a failure.
            return code == 129 && args.Any(a => a is "--help" or "-h") ? 0 : code;
        }
        catch (SeddException e)
        {
            Console.Error.WriteLine($"sedd-train: {e.Message}");
            return e.ExitCode;
        }
        catch (OperationCanceledException)
        {
            Console.Error.WriteLine("sedd-train: cancelled");
            return SeddException.Cancelled;
        }
        catch (Exception e) when (Environment.GetEnvironmentVariable("SEDD_DEBUG") is null)
        {
            var inner = e is AggregateException or TypeInitializationException && e.InnerException != null ? e.InnerException : e;
            Console.Error.WriteLine($"sedd-train: internal error: {inner.GetType().Name}: {inner.Message.Split('\n')[0]} (set SEDD_DEBUG=1 for details)");
            return 70;
        }
    }
}
