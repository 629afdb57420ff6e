using Sedd.Cli;

namespace Sedd.Exporter.Cli;

/// <summary>
/// sedd-export: one checkpoint in, one verified model package out. Exit codes: 0 ok, 1 usage
/// (bad option, existing output without --force), 2 bad input (checkpoint, config, failed
/// verification), 3 environment (unwritable destination). Failures are one stderr line.
/// </summary>
static class ExporterApp
{
    public static int Run(string[] args) => CliHost.Run<ExportCommand>("sedd-export", args);
}
