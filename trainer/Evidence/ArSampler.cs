using System.Diagnostics;
using Sedd.Runtime;
using Sedd.Trainer.Diffusion;
using Sedd.Trainer.Model;
using TorchSharp;
using static TorchSharp.torch;

namespace Sedd.Trainer.Evidence;

/// <summary>Samples drawn by <see cref="ArSampler"/> and what they cost.</summary>
/// <param name="Samples">The sequences, each of the requested length (the leading EOS is not included).</param>
/// <param name="Seconds">Wall time of the whole draw (network, softmax and categorical draws).</param>
/// <param name="NetworkCalls">Forward calls made: one per generated position per batch.</param>
/// <param name="PositionsComputed">
/// Token positions pushed through the network: B·L per batch with the cache, B·L(L+1)/2 when every step
/// recomputes the whole prefix.
/// </param>
public sealed record ArSampleRun(IReadOnlyList<long[]> Samples, double Seconds, long NetworkCalls, long PositionsComputed)
{
    /// <summary>Wall time per sequence.</summary>
    public double SecondsPerSample => Samples.Count == 0 ? 0 : Seconds / Samples.Count;
}

/// <summary>
/// Ancestral sampling from the autoregressive baseline at temperature 1, with the training convention: the
/// block starts after an EOS (<see cref="Training.Objectives"/>' AR objective prepends it), so position 0 of a
/// sample is drawn from p(· | EOS) and position p from p(· | EOS, x_0..x_{p−1}). Each step turns the last
/// position's logits into a float64 softmax and draws with the shared exponential race (spec §6.2,
/// <see cref="ReverseSteps.CategoricalSample(Tensor, Generator)"/>) from a seeded generator, so a seed fixes
/// the tokens. With the cache (<see cref="ArKvCache"/>) each step feeds one new position; without it every
/// step reruns the full prefix (kept to measure what the cache saves, and as a reference in tests).
/// </summary>
public sealed class ArSampler
{
    readonly ArTransformer network;
    readonly int eos;
    readonly Device device;

    /// <summary>A sampler over a network whose weights are already loaded.</summary>
    /// <param name="network">The AR baseline (EMA weights for evidence).</param>
    /// <param name="eosId">The EOS id prepended to every sample (the vocabulary's last id).</param>
    /// <exception cref="SeddException">EOS outside the vocabulary (exit code 1).</exception>
    public ArSampler(ArTransformer network, int eosId)
    {
        ArgumentNullException.ThrowIfNull(network);
        if (eosId < 0 || eosId >= network.Vocab)
            throw new SeddException($"EOS id must be in 0..{network.Vocab - 1} (the model's vocabulary); found {eosId}.", SeddException.Usage);
        this.network = network;
        eos = eosId;
        device = network.parameters().First().device;
    }

    /// <summary>Draws <paramref name="count"/> sequences of <paramref name="length"/> tokens.</summary>
    /// <param name="count">Number of sequences N ≥ 1.</param>
    /// <param name="length">Tokens per sequence, 1 .. model length.</param>
    /// <param name="seed">Seed of the generator; the same seed, batch size and cache choice give the same tokens.</param>
    /// <param name="batchSize">Sequences decoded together.</param>
    /// <param name="useCache">False reruns the whole prefix at every step (for speed comparisons).</param>
    /// <param name="cancel">Checked before every decoding step (Ctrl+C: OperationCanceledException).</param>
    /// <exception cref="SeddException">Length outside 1 .. model length or a count below 1 (exit code 1).</exception>
    public ArSampleRun Sample(int count, int length, long seed, int batchSize = 16, bool useCache = true, CancellationToken cancel = default)
    {
        if (count < 1) throw new SeddException($"Sample count must be at least 1; found {count}.", SeddException.Usage);
        if (batchSize < 1) throw new SeddException($"Batch size must be at least 1; found {batchSize}.", SeddException.Usage);
        if (length < 1 || length > network.Config.Length)
            throw new SeddException($"Sample length must be 1..{network.Config.Length} (model.length); found {length}.", SeddException.Usage);
        var generator = new Generator((ulong)seed, device);
        var samples = new List<long[]>(count);
        long calls = 0, positions = 0;
        var wasTraining = network.training;
        network.eval();
        var clock = Stopwatch.StartNew();
        try
        {
            using var noGrad = no_grad();
            for (var start = 0; start < count; start += batchSize)
            {
                using var scope = NewDisposeScope();
                var b = Math.Min(batchSize, count - start);
                var tokens = useCache ? DecodeCached(b, length, generator, cancel) : DecodeUncached(b, length, generator, cancel);
                var flat = tokens.cpu().data<long>().ToArray();
                for (var i = 0; i < b; i++) samples.Add(flat.AsSpan(i * length, length).ToArray());
                calls += length;
                positions += useCache ? (long)b * length : (long)b * length * (length + 1) / 2;
            }
        }
        finally
        {
            if (wasTraining) network.train();
        }
        return new ArSampleRun(samples, clock.Elapsed.TotalSeconds, calls, positions);
    }

    /// <summary>One batch with the KV cache: feed EOS, then each drawn token, one position per call (B, L).</summary>
    Tensor DecodeCached(int b, int length, Generator generator, CancellationToken cancel)
    {
        var tokens = zeros([b, length], ScalarType.Int64, device);
        using var cache = new ArKvCache(network, b, length);
        for (var p = 0; p < length; p++)
        {
            cancel.ThrowIfCancellationRequested();
            using var scope = NewDisposeScope();
            var input = p == 0 ? full(b, 1, eos, ScalarType.Int64, device) : tokens.narrow(1, p - 1, 1);
            var logits = network.ForwardIncremental(input, cache).select(1, 0);    // (B, V)
            tokens.narrow(1, p, 1).copy_(Draw(logits, generator).unsqueeze(1));
        }
        return tokens;
    }

    /// <summary>One batch without a cache: at step p the whole prefix EOS, x_0..x_{p−1} is recomputed.</summary>
    Tensor DecodeUncached(int b, int length, Generator generator, CancellationToken cancel)
    {
        var tokens = full(b, length + 1, eos, ScalarType.Int64, device); // column 0 stays EOS
        for (var p = 0; p < length; p++)
        {
            cancel.ThrowIfCancellationRequested();
            using var scope = NewDisposeScope();
            var logits = network.call(tokens.narrow(1, 0, p + 1)).select(1, p);    // (B, V)
            tokens.narrow(1, p + 1, 1).copy_(Draw(logits, generator).unsqueeze(1));
        }
        return tokens.narrow(1, 1, length).contiguous();
    }

    /// <summary>Temperature-1 draw from float64 softmax(logits) (B, V) → (B).</summary>
    static Tensor Draw(Tensor logits, Generator generator) =>
        ReverseSteps.CategoricalSample(logits.to_type(ScalarType.Float64).softmax(-1), generator);
}
