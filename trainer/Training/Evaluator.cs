using Sedd.Trainer.Data;
using TorchSharp;
using static TorchSharp.torch;

namespace Sedd.Trainer.Training;

/// <summary>Result of <see cref="Evaluator.Evaluate"/>. All figures are nats per token unless named otherwise.</summary>
/// <param name="Objective">"sedd" or "ar".</param>
/// <param name="Split">Split evaluated.</param>
/// <param name="Blocks">Blocks (sequences) scored.</param>
/// <param name="Tokens">Tokens scored.</param>
/// <param name="Samples">Monte-Carlo time samples per sequence (1 for AR: exact).</param>
/// <param name="Diffusion">SEDD: the diffusion term of the bound; AR: the exact NLL.</param>
/// <param name="StandardError">Monte-Carlo standard error of <paramref name="Diffusion"/> (0 for AR).</param>
/// <param name="Prior">Prior term KL(p_1(·|x0) ‖ p_base) per token (spec §4.3), reported separately.</param>
/// <param name="Seconds">Wall time.</param>
public sealed record EvalResult(string Objective, string Split, int Blocks, long Tokens, int Samples,
    double Diffusion, double StandardError, double Prior, double Seconds)
{
    /// <summary>Diffusion term plus prior.</summary>
    public double Total => Diffusion + Prior;

    /// <summary>exp(total): SEDD's perplexity upper bound, or AR's exact perplexity.</summary>
    public double Perplexity => Math.Exp(Total);

    /// <summary>Perplexity at total − 2 standard errors.</summary>
    public double PerplexityLow => Math.Exp(Total - 2 * StandardError);

    /// <summary>Perplexity at total + 2 standard errors.</summary>
    public double PerplexityHigh => Math.Exp(Total + 2 * StandardError);

    /// <summary>Perplexity at total ± 2 standard errors (a tuple's fields do not reach JSON; the two properties above do).</summary>
    [System.Text.Json.Serialization.JsonIgnore]
    public (double Low, double High) PerplexityInterval => (PerplexityLow, PerplexityHigh);
}

/// <summary>
/// Likelihood evaluation. SEDD: the perplexity upper bound of spec §4.3 — for every sequence the
/// training loss of §4.1 averaged over K independent t ~ U(1e-3, 1) (each with a fresh x_t), EMA
/// weights, eval mode — summed over sequences, divided by the tokens, plus the prior term.
/// AR: the exact next-token NLL of the same blocks.
/// </summary>
public static class Evaluator
{
    /// <summary>Mean validation nats per token on the first <paramref name="batches"/> micro-batches, with EMA weights.</summary>
    public static double QuickValidation(IObjective objective, Ema ema, TokenDataset valid, int length, int micro, int batches, ulong seed, Device device)
    {
        int blocks = (int)Math.Min(valid.BlockCount(length), (long)micro * batches);
        if (blocks == 0) return double.NaN;
        var generator = new Generator(seed, device);
        ema.Swap();
        objective.Network.eval();
        try
        {
            using var _ = no_grad();
            double sum = 0;
            var buffer = new long[micro * length];
            for (int start = 0; start < blocks; start += micro)
            {
                using var scope = NewDisposeScope();
                int n = Math.Min(micro, blocks - start);
                for (int i = 0; i < n; i++) valid.ReadBlock(start + i, length, buffer.AsSpan(i * length, length));
                var x0 = tensor(buffer, [micro, length], ScalarType.Int64)[..n].to(device);
                sum += objective.SequenceLoss(x0, generator).sum().item<float>();
            }
            return sum / ((double)blocks * length);
        }
        finally
        {
            objective.Network.train();
            ema.Swap();
        }
    }

    /// <summary>Scores a split with the network's current weights (load EMA weights first) in eval mode.</summary>
    /// <param name="objective">Objective with weights loaded.</param>
    /// <param name="objectiveName">"sedd" or "ar".</param>
    /// <param name="data">Split to score.</param>
    /// <param name="split">Split name (for the report).</param>
    /// <param name="length">Block length.</param>
    /// <param name="batch">Sequences per forward pass.</param>
    /// <param name="samples">K time samples per sequence (SEDD).</param>
    /// <param name="maxBlocks">Score at most this many blocks (0 = all).</param>
    /// <param name="prior">Prior term per token.</param>
    /// <param name="seed">Seed of the time and noise draws.</param>
    /// <param name="device">Device.</param>
    /// <param name="progress">Called with (blocks done, blocks total).</param>
    /// <param name="cancel">Checked before every forward pass (Ctrl+C: OperationCanceledException).</param>
    public static EvalResult Evaluate(IObjective objective, string objectiveName, TokenDataset data, string split, int length, int batch,
        int samples, int maxBlocks, double prior, ulong seed, Device device, Action<int, int>? progress = null, CancellationToken cancel = default)
    {
        int blocks = data.BlockCount(length);
        if (maxBlocks > 0) blocks = Math.Min(blocks, maxBlocks);
        if (objectiveName == "ar") samples = 1;
        var clock = System.Diagnostics.Stopwatch.StartNew();
        var generator = new Generator(seed, device);
        objective.Network.eval();
        using var _ = no_grad();
        double sumOfMeans = 0, sumOfVarianceOfMean = 0;
        var buffer = new long[batch * length];
        var sum = new double[batch];
        var sumSq = new double[batch];
        for (int start = 0; start < blocks; start += batch)
        {
            int n = Math.Min(batch, blocks - start);
            for (int i = 0; i < n; i++) data.ReadBlock(start + i, length, buffer.AsSpan(i * length, length));
            Array.Clear(sum);
            Array.Clear(sumSq);
            using var batchScope = NewDisposeScope();
            var x0 = tensor(buffer, [batch, length], ScalarType.Int64)[..n].to(device); // once per batch, reused by all K samples
            for (int k = 0; k < samples; k++)
            {
                cancel.ThrowIfCancellationRequested();
                using var scope = NewDisposeScope();
                var losses = objective.SequenceLoss(x0, generator).to(ScalarType.Float64).cpu().data<double>().ToArray();
                for (int i = 0; i < n; i++) { sum[i] += losses[i]; sumSq[i] += losses[i] * losses[i]; }
            }
            for (int i = 0; i < n; i++)
            {
                double mean = sum[i] / samples;
                sumOfMeans += mean;
                if (samples > 1) sumOfVarianceOfMean += Math.Max(0, (sumSq[i] - samples * mean * mean) / (samples - 1)) / samples;
            }
            progress?.Invoke(start + n, blocks);
        }
        long tokens = (long)blocks * length;
        return new(objectiveName, split, blocks, tokens, samples, sumOfMeans / tokens, Math.Sqrt(sumOfVarianceOfMean) / tokens, prior, clock.Elapsed.TotalSeconds);
    }

    /// <summary>
    /// Prior term per token (spec §4.3). Absorbing: the code's reference distribution is all-mask, against
    /// which the KL is infinite; with the paper's base that leaks ε evenly to the V real tokens it is ε ln V.
    /// Uniform/geometric: Σ_y p(y) ln(N p(y)) with p the t = 1 marginal.
    /// </summary>
    /// <param name="graph">"absorb" or "uniform".</param>
    /// <param name="realTokens">V (absorb) or N (uniform).</param>
    /// <param name="maxSigma">σ̄(1) of the schedule.</param>
    public static double PriorPerToken(string graph, int realTokens, double maxSigma)
    {
        if (graph == "absorb")
        {
            double eps = Math.Exp(-maxSigma);
            return eps * Math.Log(realTokens);
        }
        double n = realTokens, e = Math.Exp(-maxSigma);
        double pSelf = (1 + (n - 1) * e) / n, pOther = (1 - e) / n;
        return pSelf * Math.Log(n * pSelf) + (n - 1) * (pOther > 0 ? pOther * Math.Log(n * pOther) : 0);
    }
}
