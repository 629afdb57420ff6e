using System.Globalization;
using Sedd.Runtime.Package;
using Sedd.Trainer.Training;
using static Sedd.Evidence.EvidenceReport;

namespace Sedd.Evidence;

/// <summary>One likelihood row: a model scored on one corpus's test split.</summary>
/// <param name="Comparison">"equal training", "each at its best" or "zero-shot".</param>
/// <param name="Model">"SEDD" or "AR".</param>
/// <param name="Source">Package or checkpoint folder, relative to the repository root.</param>
/// <param name="Step">Optimiser steps of the weights.</param>
/// <param name="TrainTokens">Training tokens the weights have seen.</param>
/// <param name="Batch">Training batch (sequences per step).</param>
/// <param name="Corpus">Corpus of the test split.</param>
/// <param name="Result">The evaluation (nats per token, K, blocks, seconds).</param>
sealed record LikelihoodRow(string Comparison, string Model, string Source, long Step, long TrainTokens, int Batch, string Corpus, EvalResult Result)
{
    /// <summary>exp(bound) for SEDD, exact perplexity for AR.</summary>
    public double Perplexity => Result.Perplexity;

    /// <summary>Whether the figure is exact (AR) rather than an upper bound (SEDD).</summary>
    public bool Exact => Result.Objective == "ar";
}

/// <summary>SEDD's figure divided by the AR's, per comparison.</summary>
/// <param name="Comparison">The comparison.</param>
/// <param name="Ratio">SEDD's perplexity bound ÷ the AR's exact perplexity.</param>
sealed record LikelihoodRatio(string Comparison, double Ratio);

/// <summary>
/// Section 1: SEDD's perplexity upper bound (diffusion term with K Monte-Carlo time samples per
/// sequence, ± its standard error, plus the prior term) of the default model against the fair AR
/// baseline's exact perplexity, trained alike (same data, batch and token budget): at equal training
/// (the AR checkpoint with SEDD's token count), each at its best (the AR's best-validation checkpoint),
/// and zero-shot on nlp-corpus.
/// </summary>
static class LikelihoodSection
{
    const int EvalBatch = 32;

    /// <summary>Evaluates every row (each distinct model and corpus once).</summary>
    public static IReadOnlyList<LikelihoodRow> Run(Workspace ws, EvidenceOptions o, ModelPackage package, string arRun, string brown, string nlp,
        TextWriter log, CancellationToken cancel)
    {
        var sedd = PackageWeights(package);
        var seddEqual = o.SeddEqual is null ? sedd : Weights(ws, o.SeddEqual);
        var (arBest, note) = ws.BestCheckpoint(arRun);
        if (note != null) log.WriteLine($"note: {note}");
        var arEqual = ws.CheckpointNearest(arRun, seddEqual.Tokens);
        string equal = arEqual.Tokens == seddEqual.Tokens && arEqual.Config.Training.BatchSize == seddEqual.Batch
            ? string.Create(C, $"equal training ({seddEqual.Step:N0} steps × {seddEqual.Batch})")
            : string.Create(C, $"nearest training (SEDD {seddEqual.Tokens / 1e6:F1} M tokens, AR {arEqual.Tokens / 1e6:F1} M)");
        string best = string.Create(C, $"each at its best (AR: best validation, step {arBest.Step:N0})");

        (string Model, string Folder, long Step, long Tokens, int Batch) Ar(CheckpointInfo c) => ("AR", c.Folder, c.Step, c.Tokens, c.Config.Training.BatchSize);
        var plan = new (string Comparison, (string Model, string Folder, long Step, long Tokens, int Batch) Weights, string Corpus, string Data, int Blocks)[]
        {
            (equal, seddEqual, "brown", brown, o.TestBlocks),
            (equal, Ar(arEqual), "brown", brown, o.TestBlocks),
            (best, sedd, "brown", brown, o.TestBlocks),
            (best, Ar(arBest), "brown", brown, o.TestBlocks),
            ("zero-shot (nlp-corpus)", sedd, "nlp-corpus", nlp, o.ZeroShotBlocks),
            ("zero-shot (nlp-corpus)", Ar(arBest), "nlp-corpus", nlp, o.ZeroShotBlocks),
        };
        var done = new Dictionary<(string, string), EvalResult>();
        var rows = new List<LikelihoodRow>();
        foreach (var (comparison, w, corpus, data, blocks) in plan)
        {
            cancel.ThrowIfCancellationRequested();
            if (!done.TryGetValue((w.Folder, data), out var result))
            {
                log.WriteLine($"[likelihood] {w.Model} {ws.Relative(w.Folder)} on {corpus} test{(w.Model == "SEDD" ? $", K = {o.TimeSamples}" : "")} ...");
                result = EvalRunner.Run(w.Folder, "test", o.TimeSamples, blocks, EvalBatch, data, o.Seed, o.Threads, log, cancel);
                log.WriteLine("  " + EvalRunner.Describe(result).ReplaceLineEndings(Environment.NewLine + "  "));
                done[(w.Folder, data)] = result;
            }
            rows.Add(new LikelihoodRow(comparison, w.Model, ws.Relative(w.Folder), w.Step, w.Tokens, w.Batch, corpus, result));
        }
        return rows;
    }

    // A package records its steps and tokens; the batch follows from them and its length.
    static (string Model, string Folder, long Step, long Tokens, int Batch) PackageWeights(ModelPackage package)
    {
        var m = package.Manifest;
        long steps = m.Provenance.Steps ?? 0, tokens = m.Provenance.Tokens ?? 0;
        return ("SEDD", package.Folder, steps, tokens, steps > 0 ? (int)(tokens / (steps * m.Length)) : 0);
    }

    // --sedd-equal: a package, a checkpoint, or a run folder (its latest checkpoint).
    static (string Model, string Folder, long Step, long Tokens, int Batch) Weights(Workspace ws, string path)
    {
        var folder = ws.Full(Sedd.Runtime.IO.UserFiles.RequirePathArgument(path, "--sedd-equal"));
        if (PackageCheckpoint.Recognizes(folder)) return PackageWeights(ModelPackage.Open(folder));
        var checkpoint = File.Exists(Path.Combine(folder, "state.json")) ? folder
            : Checkpoint.Latest(folder) ?? throw new Sedd.Runtime.SeddException($"--sedd-equal {path} is neither a model package nor a checkpoint or run folder with a checkpoint", Sedd.Runtime.SeddException.BadInput);
        var info = Workspace.ReadInfo(checkpoint);
        if (info.Config.Objective != "sedd")
            throw new Sedd.Runtime.SeddException($"--sedd-equal {path} was trained with objective '{info.Config.Objective}'; expected a SEDD model", Sedd.Runtime.SeddException.Usage);
        return ("SEDD", info.Folder, info.Step, info.Tokens, info.Config.Training.BatchSize);
    }

    /// <summary>SEDD ÷ AR per comparison, in table order.</summary>
    public static IReadOnlyList<LikelihoodRatio> Ratios(IReadOnlyList<LikelihoodRow> rows) =>
        [.. rows.GroupBy(r => r.Comparison).Select(g => (g.Key, Sedd: g.FirstOrDefault(r => !r.Exact), Ar: g.FirstOrDefault(r => r.Exact)))
            .Where(x => x.Sedd != null && x.Ar != null).Select(x => new LikelihoodRatio(x.Key, x.Sedd!.Perplexity / x.Ar!.Perplexity))];

    // The paper's OpenWebText models: 400k steps × 512 sequences × 1024 tokens, GPT-2 small size and up.
    const double PaperTokens = 400_000.0 * 512 * 1024;

    static string ScaleGap(IReadOnlyList<LikelihoodRow> rows)
    {
        long most = rows.Max(r => r.TrainTokens);
        return most <= 0 ? "" : string.Create(C,
            $" Scale: the most-trained model here saw {most / 1e6:F1} M training tokens; the paper's models saw {PaperTokens / 1e9:F0} B " +
            $"(400k steps of 512 × 1024 tokens), about {PaperTokens / most:G2}× more, with 169 M+ parameters against about 5 M here.");
    }

    /// <summary>Appends the table, the ratios and the reading notes.</summary>
    public static void Write(EvidenceReport report, IReadOnlyList<LikelihoodRow> rows, EvidenceOptions o)
    {
        var ratios = Ratios(rows);
        report.Data("likelihood", new { rows, ratios, time_samples = o.TimeSamples });
        static string Figure(LikelihoodRow r) => r.Exact ? F(r.Perplexity) : $"≤ {F(r.Perplexity)}";
        static string Interval(LikelihoodRow r) => r.Exact ? "exact" : $"{F(r.Result.PerplexityLow)} … {F(r.Result.PerplexityHigh)} (K = {r.Result.Samples})";
        var table = Table(["comparison", "model", "weights", "steps", "training tokens", "batch", "test split", "nats/token", "perplexity", "±2 s.e.", "time"],
            rows.Select(r => (IReadOnlyList<string>)
            [
                r.Comparison, r.Model, r.Source, r.Step.ToString("N0", C), r.TrainTokens.ToString("N0", C), r.Batch.ToString(C),
                $"{r.Corpus} ({r.Result.Blocks} blocks, {r.Result.Tokens:N0} tokens)",
                r.Exact ? F(r.Result.Total, "F4") : $"{F(r.Result.Diffusion, "F4")} ± {F(r.Result.StandardError, "F4")} + prior {F(r.Result.Prior, "F4")}",
                Figure(r), Interval(r), $"{F(r.Result.Seconds, "F0")} s",
            ]));
        var ratioLine = "**SEDD's bound ÷ the AR's perplexity:** " + string.Join("; ", ratios.Select(x => $"{x.Comparison}: {F(x.Ratio)}×")) + ".";
        // What the paper's K = 1000 would cost at this run's speed, from the first SEDD row's time per time sample.
        var timed = rows.FirstOrDefault(r => !r.Exact && r.Result.Samples > 0);
        var paperK = timed == null ? "" : $", about {F(timed.Result.Seconds * 1000 / timed.Result.Samples / 3600, "F1")} hours per row at this run's speed";
        var notes =
            "SEDD rows are the default model (the package's weights) and give an upper bound on its perplexity: the diffusion term, estimated with " +
            $"K = {o.TimeSamples} time samples per sequence (± its Monte-Carlo standard error), plus the prior term" +
            (o.TimeSamples < EvidenceOptions.HeadlineTimeSamples ? $" (K below the {EvidenceOptions.HeadlineTimeSamples} of the full run: the interval is wide)" : "") +
            "; the paper uses K = 1000" + paperK + ". AR rows are exact, with the EMA weights of the AR baseline trained like the default model " +
            "(same data, width and depth, batch and token budget; `configs/brown-ar-default.json`). " +
            "Equal training compares the AR checkpoint with SEDD's token count (SEDD weights of that count with `--sedd-equal` when the default model has trained longer); " +
            "each at its best takes the AR's best-validation checkpoint. " +
            $"The zero-shot rows score at most {o.ZeroShotBlocks} blocks of npm nlp-corpus 4.4.0 (all of it test data; neither model saw it)." +
            (o.TestBlocks > 0 ? $" Brown rows score the first {o.TestBlocks} test blocks only." : "") +
            ScaleGap(rows);
        report.Markdown.AppendLine("## 1. Likelihood").AppendLine().Append(table).AppendLine().AppendLine(ratioLine).AppendLine().AppendLine(notes).AppendLine();
        report.Readme.AppendLine("**Likelihood** (test splits; SEDD: perplexity upper bound, AR: exact):").AppendLine()
            .Append(Table(["comparison", "model", "steps (tokens)", "batch", "test split", "perplexity", "±2 s.e."],
                rows.Select(r => (IReadOnlyList<string>)
                [
                    r.Comparison, r.Model, string.Create(C, $"{r.Step:N0} ({r.TrainTokens / 1e6:F1} M)"), r.Batch.ToString(C), r.Corpus, Figure(r), Interval(r),
                ])))
            .AppendLine().AppendLine(ratioLine).AppendLine().AppendLine(notes).AppendLine();
    }
}
