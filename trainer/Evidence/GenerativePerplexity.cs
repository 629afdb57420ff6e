using Sedd.Runtime;
using Sedd.Trainer.Model;
using static TorchSharp.torch;

namespace Sedd.Trainer.Evidence;

/// <summary>How the scoring model judged a sample set (see <see cref="GenerativePerplexity.Score"/>).</summary>
/// <param name="MeanNll">Σ NLL / Σ tokens over all samples, nats per token.</param>
/// <param name="Tokens">Tokens scored (every token of every sample).</param>
/// <param name="SequenceNll">Per sample: its NLL divided by its length, nats per token.</param>
public sealed record GenerativePerplexityResult(double MeanNll, long Tokens, IReadOnlyList<double> SequenceNll)
{
    /// <summary>exp(<see cref="MeanNll"/>): the token-weighted generative perplexity (the headline number).</summary>
    public double Perplexity => Math.Exp(MeanNll);

    /// <summary>
    /// Mean over samples of exp(per-sample mean NLL): the averaging SEDD's training-time evaluation uses
    /// (spec §7, "exponentiated per sequence, then averaged"). Never below <see cref="Perplexity"/> for equal
    /// lengths (Jensen), and pulled up by a few very unlikely samples.
    /// </summary>
    public double MeanSequencePerplexity => SequenceNll.Count == 0 ? double.NaN : SequenceNll.Average(Math.Exp);
}

/// <summary>
/// Generative perplexity: a sample set scored by the autoregressive baseline, which plays the role SEDD gave
/// GPT-2 large (spec §8.3). Samples are scored exactly as the AR objective scores training blocks: EOS is
/// prepended and every one of the L tokens is predicted from the ones before it, so on real data the
/// perplexity equals exp(AR eval loss). (SEDD's own script skips the first token instead; with the EOS context
/// the first token is scored too, which keeps AR samples, SEDD samples and test data on one footing.)
/// Also the unigram entropy of samples, since a low generative perplexity can come from degenerate repetition.
/// </summary>
public static class GenerativePerplexity
{
    /// <summary>Scores <paramref name="samples"/> under <paramref name="network"/> (eval mode, no gradients).</summary>
    /// <param name="network">The AR scoring model with its weights loaded.</param>
    /// <param name="samples">Token sequences with ids in 0..V−1 and lengths 1..model length (lengths may differ).</param>
    /// <param name="eosId">The EOS id prepended to each sample.</param>
    /// <param name="batchSize">Samples of equal length scored per forward pass.</param>
    /// <param name="cancel">Checked before every forward pass (Ctrl+C: OperationCanceledException).</param>
    /// <exception cref="SeddException">No samples, an empty or too long sample, or an id outside the vocabulary (exit code 2).</exception>
    public static GenerativePerplexityResult Score(ArTransformer network, IReadOnlyList<long[]> samples, int eosId, int batchSize = 16, CancellationToken cancel = default)
    {
        ArgumentNullException.ThrowIfNull(network);
        ArgumentNullException.ThrowIfNull(samples);
        ArgumentOutOfRangeException.ThrowIfLessThan(batchSize, 1);
        Check(network, samples, eosId);
        var device = network.parameters().First().device;
        var nll = new double[samples.Count];
        var wasTraining = network.training;
        network.eval();
        try
        {
            using var noGrad = no_grad();
            // Batch samples of equal length together, keeping each one's slot in the result.
            foreach (var group in Enumerable.Range(0, samples.Count).GroupBy(i => samples[i].Length))
            {
                var members = group.ToArray();
                var l = group.Key;
                for (var start = 0; start < members.Length; start += batchSize)
                {
                    cancel.ThrowIfCancellationRequested();
                    using var scope = NewDisposeScope();
                    var n = Math.Min(batchSize, members.Length - start);
                    var flat = new long[n * l];
                    for (var i = 0; i < n; i++) samples[members[start + i]].CopyTo(flat, i * l);
                    var sums = SequenceNll(network, tensor(flat, [n, l]).to(device), eosId).cpu().data<double>().ToArray();
                    for (var i = 0; i < n; i++) nll[members[start + i]] = sums[i];
                }
            }
        }
        finally
        {
            if (wasTraining) network.train();
        }
        long tokens = samples.Sum(s => (long)s.Length);
        var perToken = new double[nll.Length];
        for (var i = 0; i < nll.Length; i++) perToken[i] = nll[i] / samples[i].Length;
        return new GenerativePerplexityResult(nll.Sum() / tokens, tokens, perToken);
    }

    /// <summary>
    /// Per-sequence Σ_{p=0}^{L−1} −ln p(x_p | EOS, x_{&lt;p}) in float64 (B) for tokens x (B, L): the AR objective's
    /// sequence loss, with the softmax taken in float64.
    /// </summary>
    /// <param name="network">The AR model (eval mode is the caller's business).</param>
    /// <param name="x">int64 (B, L) tokens on the network's device.</param>
    /// <param name="eosId">The EOS id prepended.</param>
    public static Tensor SequenceNll(ArTransformer network, Tensor x, int eosId)
    {
        ArgumentNullException.ThrowIfNull(network);
        ArgumentNullException.ThrowIfNull(x);
        var (b, l) = (x.shape[0], x.shape[1]);
        var input = cat([full(b, 1, eosId, ScalarType.Int64, x.device), x.narrow(1, 0, l - 1)], 1); // (B, L)
        var logp = network.call(input).to_type(ScalarType.Float64).log_softmax(-1);                   // (B, L, V)
        return -logp.gather(-1, x.unsqueeze(-1)).squeeze(-1).sum(1);                                 // (B)
    }

    /// <summary>
    /// Entropy in nats of the pooled token distribution of the whole set: H = −Σ_k f_k ln f_k with f_k the share
    /// of all tokens that equal k. A set where every sample repeats one token but samples differ still scores
    /// high here; use <see cref="MeanSampleEntropy"/> to see repetition inside samples.
    /// </summary>
    /// <param name="samples">Token sequences.</param>
    public static double UnigramEntropy(IReadOnlyList<long[]> samples)
    {
        ArgumentNullException.ThrowIfNull(samples);
        var counts = new Dictionary<long, long>();
        long total = 0;
        foreach (var s in samples)
        {
            foreach (var t in s) counts[t] = counts.GetValueOrDefault(t) + 1;
            total += s.Length;
        }
        return Entropy(counts, total);
    }

    /// <summary>
    /// Mean over samples of each sample's own unigram entropy in nats: the number reported next to generative
    /// perplexity in the evidence tables, as later masked-diffusion papers (MDLM; Zheng et al. 2024) do, because
    /// degenerate repetition happens inside a sample. For length-128 samples it is at most ln 128 ≈ 4.85.
    /// </summary>
    /// <param name="samples">Token sequences (empty ones count as 0).</param>
    public static double MeanSampleEntropy(IReadOnlyList<long[]> samples)
    {
        ArgumentNullException.ThrowIfNull(samples);
        if (samples.Count == 0) return double.NaN;
        double sum = 0;
        var counts = new Dictionary<long, long>();
        foreach (var s in samples)
        {
            counts.Clear();
            foreach (var t in s) counts[t] = counts.GetValueOrDefault(t) + 1;
            sum += Entropy(counts, s.Length);
        }
        return sum / samples.Count;
    }

    static double Entropy(Dictionary<long, long> counts, long total)
    {
        if (total == 0) return 0;
        double h = 0;
        foreach (var c in counts.Values)
        {
            var f = (double)c / total;
            h -= f * Math.Log(f);
        }
        return h;
    }

    static void Check(ArTransformer network, IReadOnlyList<long[]> samples, int eosId)
    {
        if (samples.Count == 0) throw new SeddException("Generative perplexity needs at least one sample; found none.", SeddException.BadInput);
        if (eosId < 0 || eosId >= network.Vocab)
            throw new SeddException($"EOS id must be in 0..{network.Vocab - 1} (the scoring model's vocabulary); found {eosId}.", SeddException.BadInput);
        for (var i = 0; i < samples.Count; i++)
        {
            var s = samples[i] ?? throw new SeddException($"Sample {i} is null.", SeddException.BadInput);
            if (s.Length < 1 || s.Length > network.Config.Length)
                throw new SeddException($"Sample {i} has {s.Length} tokens; the scoring model takes 1..{network.Config.Length}.", SeddException.BadInput);
            foreach (var t in s)
            {
                if (t < 0 || t >= network.Vocab)
                    throw new SeddException($"Sample {i} holds token id {t}; the scoring model's vocabulary is 0..{network.Vocab - 1} (was it sampled with another tokenizer, or does it still hold a mask?).", SeddException.BadInput);
            }
        }
    }
}
