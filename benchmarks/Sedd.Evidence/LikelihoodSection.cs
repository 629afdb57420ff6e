using Sedd.Trainer.Training;
using static Sedd.Evidence.EvidenceReport;

namespace Sedd.Evidence;

/// <summary>One likelihood row: a checkpoint scored on one corpus's test split.</summary>
/// <param name="Comparison">"equal steps", "best validation" or "zero-shot".</param>
/// <param name="Model">"SEDD absorb" or "AR".</param>
/// <param name="Checkpoint">Checkpoint folder, relative to the repository root.</param>
/// <param name="Step">Optimiser steps of the checkpoint.</param>
/// <param name="TrainTokens">Training tokens the checkpoint has seen.</param>
/// <param name="Batch">Training batch (sequences per step).</param>
/// <param name="Corpus">Corpus of the test split.</param>
/// <param name="Result">The evaluation (nats per token, K, blocks, seconds).</param>
sealed record LikelihoodRow(string Comparison, string Model, string Checkpoint, long Step, long TrainTokens, int Batch, string Corpus, EvalResult Result)
{
    /// <summary>exp(bound) for SEDD, exact perplexity for AR.</summary>
    public double Perplexity => Result.Perplexity;

    /// <summary>Perplexity at ±2 standard errors (equal to <see cref="Perplexity"/> for AR).</summary>
    public double PerplexityLow => Result.PerplexityInterval.Low;

    /// <summary>Upper end of the ±2 s.e. interval.</summary>
    public double PerplexityHigh => Result.PerplexityInterval.High;
}

/// <summary>
/// Section 1: SEDD's perplexity bound (spec §4.3, K time samples per sequence, ± 2 Monte-Carlo s.e.)
/// against the AR baseline's exact perplexity on Brown's test split, at equal training steps and at
/// each model's best-validation checkpoint, plus the zero-shot nlp-corpus row.
/// </summary>
static class LikelihoodSection
{
    const int EvalBatch = 32;

    /// <summary>Evaluates every row.</summary>
    public static IReadOnlyList<LikelihoodRow> Run(Workspace ws, EvidenceOptions o, TextWriter log, CancellationToken ct)
    {
        var brown = ws.RequireData(o.Brown, "prepare --corpus brown --output data/brown --tokenizer gpt2-4096");
        var seddEqual = ws.CheckpointAt(o.SeddEqual, o.EqualStep);
        var arEqual = ws.CheckpointAt(o.Ar, o.EqualStep);
        var (seddBest, seddNote) = ws.BestCheckpoint(o.Sedd);
        var (arBest, arNote) = ws.BestCheckpoint(o.Ar);
        foreach (var note in new[] { seddNote, arNote }.OfType<string>()) log.WriteLine($"note: {note}");
        var nlp = ws.EnsureNlpCorpus(o.NlpCorpus, o.Brown, log);

        var plan = new (string Comparison, CheckpointInfo Checkpoint, string Corpus, string Data, int Blocks)[]
        {
            ($"equal steps ({o.EqualStep})", seddEqual, "brown", brown, o.TestBlocks),
            ($"equal steps ({o.EqualStep})", arEqual, "brown", brown, o.TestBlocks),
            ("best validation", seddBest, "brown", brown, o.TestBlocks),
            ("best validation", arBest, "brown", brown, o.TestBlocks),
            ("zero-shot", seddBest, "nlp-corpus", nlp, o.ZeroShotBlocks),
            ("zero-shot", arBest, "nlp-corpus", nlp, o.ZeroShotBlocks),
        };
        var rows = new List<LikelihoodRow>();
        foreach (var (comparison, cp, corpus, data, blocks) in plan)
        {
            ct.ThrowIfCancellationRequested();
            bool ar = cp.Config.Objective == "ar";
            log.WriteLine($"[likelihood] {comparison}: {cp.Relative(ws.Root)} on {corpus} test{(ar ? "" : $", K = {o.Samples}")}");
            var result = EvalRunner.Run(cp.Folder, "test", o.Samples, blocks, EvalBatch, data, o.Seed, o.Threads, log);
            log.WriteLine("  " + EvalRunner.Describe(result).ReplaceLineEndings(Environment.NewLine + "  "));
            rows.Add(new LikelihoodRow(comparison, ar ? "AR" : "SEDD absorb", cp.Relative(ws.Root), cp.Step, cp.Tokens, cp.Config.Training.BatchSize, corpus, result));
        }
        return rows;
    }

    // The paper's OpenWebText models: 400k steps × 512 sequences × 1024 tokens (spec §7), GPT-2 small size and up (spec §5.11).
    const double PaperTokens = 400_000.0 * 512 * 1024;

    static string ScaleGap(IReadOnlyList<LikelihoodRow> rows)
    {
        long most = rows.Max(r => r.TrainTokens);
        return most <= 0 ? "" : string.Create(C,
            $" Scale: the most-trained model here saw {most / 1e6:F1} M training tokens; the paper's models saw {PaperTokens / 1e9:F0} B " +
            $"(400k steps of 512 × 1024 tokens), about {PaperTokens / most:G2}× more, with 169 M+ parameters against about 5 M here.");
    }

    /// <summary>Appends the table and its reading notes.</summary>
    public static void Write(EvidenceReport report, IReadOnlyList<LikelihoodRow> rows, EvidenceOptions o)
    {
        report.Data("likelihood", rows);
        var table = Table(["comparison", "model", "checkpoint", "steps", "training tokens", "batch", "test split", "K", "nats/token", "perplexity", "±2 s.e.", "time"],
            rows.Select(r => (IReadOnlyList<string>)
            [
                r.Comparison, r.Model, r.Checkpoint, r.Step.ToString("N0", C), r.TrainTokens.ToString("N0", C), r.Batch.ToString(C),
                $"{r.Corpus} ({r.Result.Blocks} blocks, {r.Result.Tokens:N0} tokens)",
                r.Result.Objective == "ar" ? "exact" : r.Result.Samples.ToString(C),
                r.Result.Objective == "ar" ? F(r.Result.Total, "F4") : $"{F(r.Result.Diffusion, "F4")} ± {F(r.Result.StandardError, "F4")} + prior {F(r.Result.Prior, "F4")}",
                r.Result.Objective == "ar" ? F(r.Perplexity) : $"≤ {F(r.Perplexity)}",
                r.Result.Objective == "ar" ? "—" : $"{F(r.PerplexityLow)} … {F(r.PerplexityHigh)}",
                $"{F(r.Result.Seconds, "F0")} s",
            ]));
        var notes =
            $"SEDD rows are the upper bound of spec §4.3 (diffusion term ± Monte-Carlo standard error, plus the prior term), " +
            $"with K = {o.Samples} time samples per sequence; the paper uses K = 1000, which would take about 3 hours per SEDD row here. " +
            "AR rows are exact. Both use EMA weights. " +
            $"The zero-shot rows score at most {o.ZeroShotBlocks} blocks of npm nlp-corpus 4.4.0 (all of it is test data; the models never saw it)." +
            (o.TestBlocks > 0 ? $" Brown rows score the first {o.TestBlocks} test blocks only." : "") +
            ScaleGap(rows);
        report.Markdown.AppendLine("## 1. Likelihood").AppendLine().Append(table).AppendLine().AppendLine(notes).AppendLine();
        report.Readme.AppendLine("**Likelihood** (test splits; SEDD: perplexity upper bound, AR: exact):").AppendLine()
            .Append(Table(["comparison", "model", "steps (tokens)", "batch", "test split", "perplexity", "±2 s.e."],
                rows.Select(r => (IReadOnlyList<string>)
                [
                    r.Comparison, r.Model, $"{r.Step:N0} ({r.TrainTokens / 1e6:F1} M)", r.Batch.ToString(C), r.Corpus,
                    r.Result.Objective == "ar" ? F(r.Perplexity) : $"≤ {F(r.Perplexity)}",
                    r.Result.Objective == "ar" ? "exact" : $"{F(r.PerplexityLow)} … {F(r.PerplexityHigh)} (K = {r.Result.Samples})",
                ])))
            .AppendLine().AppendLine(notes).AppendLine();
    }
}
