namespace Sedd.Trainer.Cli;

/// <summary>Entry point of sedd-train (placeholder until the commands land).</summary>
static class TrainerApp
{
    public static int Run(string[] args)
    {
        Console.Error.WriteLine("sedd-train: commands are not wired yet");
        return args.Length == 0 ? 1 : 1;
    }
}
