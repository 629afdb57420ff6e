using Sedd.Cli;

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
        // Before anything loads libtorch (and with it libgomp, which reads the variable once).
        Training.OpenMpWaitPolicy.PreferPassive();
        return CliHost.Run<TrainerCommands>("sedd-train", args);
    }
}
