using System.Diagnostics;
using Sedd.Runtime;
using Sedd.Runtime.Onnx;
using Sedd.Runtime.Package;
using Sedd.Runtime.Sampling;
using Sedd.Trainer.Data;
using Sedd.Trainer.Evidence;
using static Sedd.Evidence.EvidenceReport;

namespace Sedd.Evidence;

/// <summary>Section 2's rows and what the report says about them.</summary>
/// <param name="Rows">SEDD rows (Euler and analytic at every step count, then first-hitting), the AR's own samples, Brown test text.</param>
/// <param name="PredictorsIdentical">Whether Euler and analytic drew exactly the same samples at every step count (absorb with the log-linear schedule).</param>
/// <param name="Scorer">The scorer, described for the notes.</param>
/// <param name="ScorerIsGenerator">Whether the scorer is the AR run whose samples it scores (a bias the notes must state).</param>
sealed record QualityResult(IReadOnlyList<QualityRow> Rows, bool PredictorsIdentical, string Scorer, bool ScorerIsGenerator);

/// <summary>
/// Section 2 (and the measurements of section 3): N samples from the exported package at each step
/// count with the Euler and analytic predictors, and with the first-hitting sampler (runtime, ONNX
/// Runtime on the CPU), next to the AR baseline's own samples (KV cache) and held-out Brown text; every
/// set scored by an independent AR scorer (another seed and wider than the AR baseline, so that no model
/// scores its own samples), as GPT-2 large does in the paper.
/// </summary>
static class QualitySection
{
    /// <summary>Generates and scores every sample set.</summary>
    public static QualityResult Run(Workspace ws, EvidenceOptions o, ModelPackage package, LoadedArModel ar, LoadedArModel scorer, string brown, TextWriter log, CancellationToken cancel)
    {
        var m = package.Manifest;
        foreach (var (model, role) in new[] { (ar, "AR baseline"), (scorer, "scorer") })
            if (m.Graph.Tokens != model.Network.Vocab)
                throw new SeddException($"the package has {m.Graph.Tokens} tokens but the {role} ({model.Folder}) has {model.Network.Vocab}; both must use the same tokenizer", SeddException.BadInput);
        int length = Math.Min(m.Length, Math.Min(ar.Network.Config.Length, scorer.Network.Config.Length));
        var rows = new List<QualityRow>();
        var drawn = new Dictionary<(Predictor, int), long[][]>();
        using (var network = OnnxScoreNetwork.Open(package, new OnnxScoreNetworkOptions { Provider = ExecutionProvider.Cpu, Threads = o.Threads }))
        {
            // Warm-up: ORT's first runs allocate and plan; the timed runs start after it.
            new DiffusionSampler(m.CreateGraph(), m.CreateNoise(), network, o.Batch, length, new SamplingOptions { Steps = 2, Threads = o.Threads }).Run(0, cancel);
            var settings = new List<(Predictor Predictor, int Steps)>();
            foreach (var predictor in new[] { Predictor.Euler, Predictor.Analytic })
                foreach (int steps in o.StepCounts) settings.Add((predictor, steps));
            bool firstHitting = m.Graph.Type == "absorb" && network.TimeIndependent;
            if (firstHitting) settings.Add((Predictor.FirstHitting, length));
            else log.WriteLine("[quality] first-hitting skipped: it needs an absorbing, time-independent model");
            foreach (var (predictor, steps) in settings)
            {
                cancel.ThrowIfCancellationRequested();
                var run = SampleDiffusion(o, m, network, length, predictor, steps, cancel);
                drawn[(predictor, steps)] = [.. run.Samples];
                var row = Score(o, scorer, "sedd", SamplingOptions.Name(predictor), steps, run.Samples, run.SecondsPerSample, run.CallsPerRun,
                    run.RowsPerSample, run.CachedRowsPerSample, run.HostShare, run.NetworkShare, cancel);
                log.WriteLine($"[quality] {row.Predictor,-13} {(predictor == Predictor.FirstHitting ? $"{steps} calls" : $"{steps} steps"),10}: gen. perplexity {F(row.GenPerplexity)} ({F(row.Low)} … {F(row.High)}), " +
                    $"{F(row.SecondsPerSample, "F3")} s/sample, {F(row.RowsPerSample, "F1")} rows evaluated + {F(row.CachedRowsPerSample, "F1")} cached per sample, host share {F(100 * (row.HostShare ?? 0), "F1")} %");
                rows.Add(row);
            }
        }
        bool identical = o.StepCounts.All(s => drawn[(Predictor.Euler, s)].Zip(drawn[(Predictor.Analytic, s)]).All(p => p.First.AsSpan().SequenceEqual(p.Second)));

        cancel.ThrowIfCancellationRequested();
        var arSampler = new ArSampler(ar.Network, ar.EosId);
        arSampler.Sample(1, Math.Min(8, length), o.Seed, cancel: cancel); // warm-up
        var arRun = arSampler.Sample(o.NumSamples, length, o.Seed, o.Batch, useCache: true, cancel);
        var arRow = Score(o, scorer, "ar", "", length, arRun.Samples, arRun.SecondsPerSample, length, 0, 0, null, null, cancel);
        log.WriteLine($"[quality] AR samples (KV cache): gen. perplexity {F(arRow.GenPerplexity)} ({F(arRow.Low)} … {F(arRow.High)}), {F(arRun.SecondsPerSample, "F3")} s/sample");
        rows.Add(arRow);

        var text = TestBlocks(brown, length, o.NumSamples);
        var textRow = Score(o, scorer, "text", "", 0, text, 0, 0, 0, 0, null, null, cancel);
        log.WriteLine($"[quality] Brown test text: perplexity {F(textRow.GenPerplexity)} ({F(textRow.Low)} … {F(textRow.High)})");
        rows.Add(textRow);

        var c = scorer.Network.Config;
        string scorerText = $"`{ws.Relative(scorer.Folder)}` (step {scorer.Step:N0}, {c.NBlocks} blocks × {c.HiddenSize}, {scorer.Network.ParameterCount():N0} parameters)";
        bool same = Path.GetFullPath(Path.Combine(scorer.Folder, "..", "..")) == Path.GetFullPath(Path.Combine(ar.Folder, "..", ".."));
        return new QualityResult(rows, identical, scorerText, same);
    }

    sealed record DiffusionRun(List<long[]> Samples, double SecondsPerSample, double CallsPerRun, double RowsPerSample, double CachedRowsPerSample,
        double HostShare, double NetworkShare);

    static DiffusionRun SampleDiffusion(EvidenceOptions o, ModelManifest m, OnnxScoreNetwork network, int length, Predictor predictor, int steps, CancellationToken cancel)
    {
        var sampler = new DiffusionSampler(m.CreateGraph(), m.CreateNoise(), network, o.Batch, length,
            new SamplingOptions { Predictor = predictor, Steps = predictor == Predictor.FirstHitting ? 1 : steps, Threads = o.Threads });
        var samples = new List<long[]>(o.NumSamples);
        int runs = 0;
        long calls = 0, rows = 0, cached = 0;
        double inNetwork = 0, host = 0;
        var clock = Stopwatch.StartNew();
        while (samples.Count < o.NumSamples)
        {
            // One seed per batch run, shared across settings: every setting starts from the same streams.
            var tokens = sampler.Run((ulong)(o.Seed + runs), cancel);
            runs++;
            calls += sampler.NetworkCalls;
            rows += sampler.RowEvaluations;
            cached += sampler.CachedRows;
            inNetwork += sampler.NetworkTime.TotalSeconds;
            host += sampler.HostTime.TotalSeconds;
            for (int b = 0; b < o.Batch && samples.Count < o.NumSamples; b++) samples.Add(tokens.Slice(b * length, length).ToArray());
        }
        double seconds = clock.Elapsed.TotalSeconds, drawnSamples = runs * o.Batch;
        return new DiffusionRun(samples, seconds / drawnSamples, (double)calls / runs, rows / drawnSamples, cached / drawnSamples,
            host / (host + inNetwork), inNetwork / seconds);
    }

    static QualityRow Score(EvidenceOptions o, LoadedArModel scorer, string source, string predictor, int steps, IReadOnlyList<long[]> samples,
        double secondsPerSample, double calls, double rows, double cached, double? hostShare, double? networkShare, CancellationToken cancel)
    {
        var g = GenerativePerplexity.Score(scorer.Network, samples, scorer.EosId, 16, cancel);
        var (mean, error) = QualityRow.MeanAndError(g.SequenceNll);
        return new QualityRow(source, predictor, steps, samples.Count, samples[0].Length, mean, error,
            GenerativePerplexity.UnigramEntropy(samples), GenerativePerplexity.MeanSampleEntropy(samples), secondsPerSample, calls, rows, cached, hostShare, networkShare);
    }

    /// <summary><paramref name="count"/> test blocks spread evenly over Brown's test split.</summary>
    public static List<long[]> TestBlocks(string brown, int length, int count)
    {
        using var test = TokenDataset.Open(brown, DataSplit.Test);
        int blocks = test.BlockCount(length);
        if (blocks == 0) throw new SeddException($"the test split of {brown} has fewer than {length} tokens", SeddException.BadInput);
        var result = new List<long[]>(count);
        for (int i = 0; i < count; i++)
        {
            var block = new long[length];
            test.ReadBlock((int)((long)i * blocks / count) % blocks, length, block);
            result.Add(block);
        }
        return result;
    }

    // Under the table in both the report and the README: equal rows look like a bug unless explained.
    const string SamePredictorsNote = "Euler and analytic rows are equal by construction: for the absorbing graph with the log-linear schedule " +
        "Euler's jump weight Δt·σ'(t) equals the analytic step's expm1(σ̄(t) − σ̄(t − Δt)) exactly, so with the same seed both predictors draw the same samples (checked here sample by sample).";

    /// <summary>The steps cell of a row.</summary>
    public static string StepsCell(QualityRow r) => r.Source switch
    {
        "sedd" when r.Predictor == "first-hitting" => $"{r.Steps} calls (1 per token)",
        "sedd" => r.Steps.ToString(C),
        "ar" => $"{r.Steps} (1 per token)",
        _ => "—",
    };

    /// <summary>Appends the quality table and the plot.</summary>
    public static void Write(EvidenceReport report, QualityResult q, string plotLink, EvidenceOptions o)
    {
        report.Data("quality", new { q.Rows, predictors_identical = q.PredictorsIdentical, scorer = q.Scorer, scorer_is_generator = q.ScorerIsGenerator });
        var table = Table(["samples", "steps", "N × length", "gen. perplexity", "±2 s.e.", "unigram entropy (nats)", "mean per-sample entropy (nats)"],
            q.Rows.Select(r => (IReadOnlyList<string>)
            [
                r.Name, StepsCell(r), $"{r.Samples} × {r.Length}", F(r.GenPerplexity), $"{F(r.Low)} … {F(r.High)}", F(r.UnigramEntropy), F(r.MeanSampleEntropy),
            ]));
        var note = $"Every set is scored by the independent AR scorer {q.Scorer}: another seed and a wider, deeper network than the AR baseline, " +
            "so that the AR baseline's samples are not scored by the model that drew them" +
            (q.ScorerIsGenerator ? " (**not so in this run: the scorer is the AR baseline's own run, which favours its samples**)" : "") + ". " +
            "Generative perplexity is exp(m), m the mean over the N samples of each sample's NLL per token under the scorer; ±2 s.e. is exp(m ± 2 s.e.(m)) over the samples " +
            "(the error bars of the plot). It rewards text the scorer finds likely; low entropy flags degenerate repetition (a set of repeated tokens scores well and means nothing). " +
            $"SEDD samples are seeded (seed {o.Seed} + batch index), batch {o.Batch}, with the final denoising step; first-hitting makes one network call per generated token and samples the continuous-time reverse process exactly." +
            (o.NumSamples < EvidenceOptions.HeadlineSamples ? $" N = {o.NumSamples} is below the {EvidenceOptions.HeadlineSamples} of the full run." : "") +
            (q.PredictorsIdentical ? " " + SamePredictorsNote : "");
        report.Markdown.AppendLine("## 2. Quality against steps").AppendLine().Append(table).AppendLine().AppendLine(note).AppendLine()
            .AppendLine($"![generative perplexity against steps]({plotLink})").AppendLine();
        report.Readme.AppendLine($"**Quality against steps** (N = {o.NumSamples} samples per row, scored by an independent AR scorer):").AppendLine().Append(table).AppendLine()
            .AppendLine(note).AppendLine();
    }
}
