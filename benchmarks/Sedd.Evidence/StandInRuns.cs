using System.Diagnostics;
using System.Globalization;
using Sedd.Runtime;
using Sedd.Trainer.Training;

namespace Sedd.Evidence;

/// <summary>The run folders the evidence reads, and whether each is the real run or a quick stand-in.</summary>
/// <param name="Ar">The fair AR baseline's run folder (root-relative or absolute).</param>
/// <param name="Scorer">The independent scorer's run folder.</param>
/// <param name="StandIns">Notes on runs replaced by tiny stand-ins (quick mode), one per run; empty for real runs.</param>
sealed record EvidenceRuns(string Ar, string Scorer, IReadOnlyList<string> StandIns);

/// <summary>
/// Quick mode on a fresh clone has no trained runs (they take hours and are not in git): each missing
/// run is replaced by a tiny AR model of the same kind trained in seconds into the output folder, so the
/// whole pipeline runs and every section is exercised. The full run refuses missing runs instead, in one
/// line naming the command that trains each.
/// </summary>
static class StandInRuns
{
    const int Steps = 60;

    /// <summary>The runs to use: the real ones where they exist; otherwise stand-ins (quick) or one error naming what is missing (full).</summary>
    /// <param name="ws">The repository.</param>
    /// <param name="o">Options (runs, quick, threads).</param>
    /// <param name="brown">Gives the prepared Brown folder; called only when a stand-in is trained.</param>
    /// <param name="output">The output folder (stand-ins go below it).</param>
    /// <param name="log">Progress.</param>
    /// <param name="cancel">Stops a stand-in's training after its step (a checkpoint is written; the next quick run resumes it).</param>
    public static EvidenceRuns Resolve(Workspace ws, EvidenceOptions o, Func<string> brown, string output, TextWriter log, CancellationToken cancel)
    {
        var missing = new[] { ("AR baseline", o.Ar), ("scorer", o.Scorer) }.Where(r => !ws.HasRun(r.Item2)).ToList();
        if (missing.Count > 0 && !o.Quick)
            throw new SeddException("missing runs: " + string.Join("; ", missing.Select(r => $"{r.Item2} (the {r.Item1}; train it with: {ws.TrainHint(r.Item2)})")) +
                "; or check the pipeline without them with --quick", SeddException.BadInput);
        var notes = new List<string>();
        string Use(string run, string role, int hidden, int blocks, long seed)
        {
            if (ws.HasRun(run)) return run;
            var folder = Path.Combine(output, "stand-ins", Path.GetFileName(Path.TrimEndingDirectorySeparator(run)));
            var note = $"{run} not found (the {role}; made by: {ws.TrainHint(run)}); this quick check uses a tiny stand-in trained for {Steps} steps into {ws.Relative(folder)}";
            log.WriteLine(note);
            notes.Add(note);
            Train(folder, brown(), hidden, blocks, seed, o.Threads, log, cancel);
            return folder;
        }
        var ar = Use(o.Ar, "AR baseline", 64, 2, 42);
        // Another seed and wider, as the real scorer is: never the model whose samples it scores.
        var scorer = Use(o.Scorer, "independent scorer", 96, 2, 99);
        return new EvidenceRuns(ar, scorer, notes);
    }

    /// <summary>The tiny AR config: seconds of training on 2 cores, with validation so a best checkpoint exists.</summary>
    public static TrainConfig Config(string folder, string brown, int hidden, int blocks, long seed, int threads) => ConfigLoader.Load(null,
    [
        "objective=ar", $"data={brown}", $"output={folder}",
        $"model.hidden_size={hidden}", "model.cond_dim=32", $"model.n_blocks={blocks}", "model.n_heads=2", "model.length=128",
        "optim.lr=0.003", "optim.warmup=10",
        "training.batch_size=8", $"training.steps={Steps}", "training.ema=0.9", $"training.seed={seed}", "training.log_every=20",
        "training.eval_every=20", "training.eval_batches=2", "training.checkpoint_every=20", "training.keep_checkpoints=2",
        $"training.threads={threads}",
    ]);

    // A stand-in finished by an earlier quick run is reused; one cut short (Ctrl+C) is resumed. Nothing
    // outside the output folder is written.
    static void Train(string folder, string brown, int hidden, int blocks, long seed, int threads, TextWriter log, CancellationToken cancel)
    {
        var config = Config(folder, brown, hidden, blocks, seed, threads);
        var latest = Checkpoint.Latest(folder);
        if (latest != null && Workspace.ReadInfo(latest).Step >= Steps) return;
        var clock = Stopwatch.StartNew();
        // A folder left without a checkpoint (a killed run) is moved aside into previous/, never deleted.
        bool startOver = latest == null && Directory.Exists(folder) && Directory.EnumerateFileSystemEntries(folder).Any();
        new Sedd.Trainer.Training.Trainer { Output = TextWriter.Null }.Run(config, resume: latest != null, cancel, startOver: startOver);
        cancel.ThrowIfCancellationRequested();
        log.WriteLine(string.Create(CultureInfo.InvariantCulture, $"  trained in {clock.Elapsed.TotalSeconds:F0} s"));
    }
}
