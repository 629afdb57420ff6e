using System.Diagnostics;
using Sedd.Runtime;
using Sedd.Runtime.Onnx;
using Sedd.Runtime.Package;
using Sedd.Runtime.Sampling;
using Sedd.Trainer.Data;
using Sedd.Trainer.Evidence;
using static Sedd.Evidence.EvidenceReport;

namespace Sedd.Evidence;

/// <summary>
/// One sample set scored by the AR baseline, with how long it took to make.
/// </summary>
/// <param name="Source">"sedd" (the package, sampled by the runtime), "ar" (the baseline's own samples) or "text" (held-out Brown test blocks).</param>
/// <param name="Predictor">"euler" or "analytic" for SEDD; empty otherwise.</param>
/// <param name="Steps">Diffusion steps (SEDD), else the sequence length (AR: one call per token), 0 for text.</param>
/// <param name="Samples">Sequences scored.</param>
/// <param name="Length">Tokens per sequence.</param>
/// <param name="GenPerplexity">exp(mean AR NLL per token) over all sequences (spec: generative perplexity).</param>
/// <param name="UnigramEntropy">Entropy (nats) of the pooled token frequencies of the set: low means repetition.</param>
/// <param name="MeanSampleEntropy">Mean over sequences of each sequence's own token entropy (nats).</param>
/// <param name="SecondsPerSample">Wall time per generated sequence (0 for text).</param>
/// <param name="NetworkCalls">Network calls made per batch run (SEDD: real ORT calls; AR: decode steps).</param>
/// <param name="CachedCalls">SEDD: calls per batch run saved by exact caching (time-independent packages only).</param>
/// <param name="NetworkShare">SEDD: fraction of sampling wall time spent inside ONNX Runtime (the rest is host work); null otherwise.</param>
sealed record QualityRow(string Source, string Predictor, int Steps, int Samples, int Length, double GenPerplexity,
    double UnigramEntropy, double MeanSampleEntropy, double SecondsPerSample, double NetworkCalls, double CachedCalls, double? NetworkShare);

/// <summary>
/// Section 2 (and the measurements of section 3): N samples from the exported package at each step
/// count with the Euler and analytic predictors (runtime, ONNX Runtime on the CPU), scored by the AR
/// baseline — the role GPT-2 large plays in the paper — next to the AR's own samples (KV cache) and
/// held-out Brown text.
/// </summary>
static class QualitySection
{
    /// <summary>Generates and scores every sample set.</summary>
    public static IReadOnlyList<QualityRow> Run(EvidenceOptions o, ModelPackage package, LoadedArModel ar, string brown, TextWriter log, CancellationToken ct)
    {
        var manifest = package.Manifest;
        if (manifest.Graph.Tokens != ar.Network.Vocab)
            throw new SeddException($"the package has {manifest.Graph.Tokens} tokens but the AR baseline scores {ar.Network.Vocab}; both must use the same tokenizer", SeddException.BadInput);
        int length = Math.Min(manifest.Length, ar.Network.Config.Length);
        var rows = new List<QualityRow>();
        using (var network = OnnxScoreNetwork.Open(package, new OnnxScoreNetworkOptions { Provider = ExecutionProvider.Cpu, Threads = o.Threads }))
        {
            // Warm-up: ORT's first runs allocate and plan; the timed runs start after it.
            new DiffusionSampler(manifest.CreateGraph(), manifest.CreateNoise(), network, o.GenBatch, length, new SamplingOptions { Steps = 2, Threads = o.Threads }).Run(0, ct);
            foreach (var predictor in new[] { Predictor.Euler, Predictor.Analytic })
            {
                foreach (int steps in o.Steps)
                {
                    ct.ThrowIfCancellationRequested();
                    var (samples, perSample, calls, cached, share) = SampleDiffusion(o, manifest, network, length, predictor, steps, ct);
                    var row = Score(o, ar, "sedd", predictor.ToString().ToLowerInvariant(), steps, samples, perSample, calls, cached, share);
                    log.WriteLine($"[quality] {row.Predictor,-8} {steps,4} steps: gen. perplexity {F(row.GenPerplexity)}, unigram entropy {F(row.UnigramEntropy)} nats, " +
                        $"{F(perSample, "F3")} s/sample, {F(calls, "F1")} network calls + {F(cached, "F1")} cached per run");
                    rows.Add(row);
                }
            }
        }

        ct.ThrowIfCancellationRequested();
        var arSampler = new ArSampler(ar.Network, ar.EosId);
        arSampler.Sample(1, Math.Min(8, length), o.Seed); // warm-up
        var arRun = arSampler.Sample(o.GenSamples, length, o.Seed, o.GenBatch, useCache: true);
        var arRow = Score(o, ar, "ar", "", length, arRun.Samples, arRun.SecondsPerSample, length, 0, null);
        log.WriteLine($"[quality] AR samples (KV cache): gen. perplexity {F(arRow.GenPerplexity)}, unigram entropy {F(arRow.UnigramEntropy)} nats, {F(arRun.SecondsPerSample, "F3")} s/sample");
        rows.Add(arRow);

        var text = TestBlocks(brown, length, o.GenSamples);
        var textRow = Score(o, ar, "text", "", 0, text, 0, 0, 0, null);
        log.WriteLine($"[quality] Brown test text: perplexity {F(textRow.GenPerplexity)}, unigram entropy {F(textRow.UnigramEntropy)} nats");
        rows.Add(textRow);
        return rows;
    }

    static (List<long[]> Samples, double SecondsPerSample, double Calls, double Cached, double NetworkShare) SampleDiffusion(
        EvidenceOptions o, ModelManifest manifest, OnnxScoreNetwork network, int length, Predictor predictor, int steps, CancellationToken ct)
    {
        var sampler = new DiffusionSampler(manifest.CreateGraph(), manifest.CreateNoise(), network, o.GenBatch, length,
            new SamplingOptions { Predictor = predictor, Steps = steps, Threads = o.Threads });
        var samples = new List<long[]>(o.GenSamples);
        int runs = 0;
        long calls = 0, cached = 0;
        double networkSeconds = 0;
        var clock = Stopwatch.StartNew();
        while (samples.Count < o.GenSamples)
        {
            // One seed per batch run, shared across settings: every setting starts from the same streams.
            var tokens = sampler.Run((ulong)(o.Seed + runs), ct);
            runs++;
            calls += sampler.NetworkEvaluations;
            cached += sampler.CachedEvaluations;
            networkSeconds += sampler.NetworkTime.TotalSeconds;
            for (int b = 0; b < o.GenBatch && samples.Count < o.GenSamples; b++) samples.Add(tokens.Slice(b * length, length).ToArray());
        }
        double seconds = clock.Elapsed.TotalSeconds;
        return (samples, seconds / (runs * o.GenBatch), (double)calls / runs, (double)cached / runs, networkSeconds / seconds);
    }

    static QualityRow Score(EvidenceOptions o, LoadedArModel ar, string source, string predictor, int steps, IReadOnlyList<long[]> samples,
        double secondsPerSample, double calls, double cached, double? share)
    {
        var g = GenerativePerplexity.Score(ar.Network, samples, ar.EosId, o.GenBatch);
        return new QualityRow(source, predictor, steps, samples.Count, samples[0].Length, g.Perplexity,
            GenerativePerplexity.UnigramEntropy(samples), GenerativePerplexity.MeanSampleEntropy(samples), secondsPerSample, calls, cached, share);
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

    // Set by the runner from the package: absorb + loglinear makes Euler and analytic identical (spec §6.3, §6.4).
    static bool SamePredictors(EvidenceReport report) => report.AbsorbLogLinear;

    // Under the table in both the report and the README: equal rows look like a bug unless explained.
    const string SamePredictorsNote = "Euler and analytic rows are equal by construction: for the absorbing graph with the log-linear schedule " +
        "Euler's jump weight Δt·σ'(t) equals the analytic step's expm1(σ̄(t) − σ̄(t − Δt)) exactly, so with the same seed both predictors draw the same samples.";

    /// <summary>Appends the quality table and the plot.</summary>
    public static void Write(EvidenceReport report, IReadOnlyList<QualityRow> rows, string plotFile, LoadedArModel ar, EvidenceOptions o)
    {
        report.Data("quality", rows);
        static string Name(QualityRow r) => r.Source switch
        {
            "sedd" => $"SEDD {r.Predictor}",
            "ar" => "AR samples (reference)",
            _ => "Brown test text",
        };
        var table = Table(["samples", "steps", "N × length", "gen. perplexity (AR-scored)", "unigram entropy (nats)", "mean per-sample entropy (nats)"],
            rows.Select(r => (IReadOnlyList<string>)
            [
                Name(r), r.Source == "sedd" ? r.Steps.ToString(C) : r.Source == "ar" ? $"{r.Steps} (1 per token)" : "—",
                $"{r.Samples} × {r.Length}", F(r.GenPerplexity), F(r.UnigramEntropy), F(r.MeanSampleEntropy),
            ]));
        var note = $"The scorer is the AR baseline ({ar.Folder.Replace('\\', '/').Split("/runs/").Last()}, step {ar.Step}), standing in for GPT-2 large of the paper. " +
            "Generative perplexity rewards text the scorer finds likely; low entropy flags degenerate repetition (a set of repeated tokens scores well and means nothing). " +
            $"Samples are seeded (seed {o.Seed} + batch index), batch {o.GenBatch}, with the final denoising step." +
            (SamePredictors(report) ? " " + SamePredictorsNote : "");
        string link = Path.GetFileName(plotFile);
        report.Markdown.AppendLine("## 2. Quality against steps").AppendLine().Append(table).AppendLine().AppendLine(note).AppendLine()
            .AppendLine($"![generative perplexity against steps]({link})").AppendLine();
        report.Readme.AppendLine("**Quality against steps** (N samples of the exported package, scored by the AR baseline):").AppendLine().Append(table).AppendLine();
        if (SamePredictors(report)) report.Readme.AppendLine(SamePredictorsNote).AppendLine();
    }
}
