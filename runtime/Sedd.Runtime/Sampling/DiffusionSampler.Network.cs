using System.Diagnostics;

namespace Sedd.Runtime.Sampling;

// The network half of the sampler: which sequences to evaluate, exact per-sequence caching for
// time-independent networks, and one network call per step: in place when the sequences to evaluate are
// contiguous, else gathered into a staging batch and scattered back.
public sealed partial class DiffusionSampler
{
    bool caching;
    bool scaleBySigma;
    long[] evaluatedTokens = [];   // [B, L]: tokens each cached output was computed from
    float[] evaluatedSigma = [];   // [B]: σ̄ (as the network saw it) of each cached output
    bool[] cacheValid = [];        // [B]
    double[] targetSigma = [];     // [B]: σ̄ each sequence is evaluated at this step
    double[] rowShift = [];        // [B]: added to every log-score but the own token's (cached outputs)
    bool[] evaluate = [];          // [B]: scratch, sequences evaluated this step
    long[] sequenceEvaluations = [];  // [B]
    long[] sequenceCached = [];       // [B]
    long[] stageTokens = [];          // [S, L]: scattered sequences gathered for one call
    float[] stageSigma = [];          // [S]
    float[] stageScore = [];          // [S, L, D]
    int[] stageRows = [];             // [S]: the sequence each staging row came from
    long networkTicks;

    /// <summary>Steps in which the network ran for at least one sequence since the last reset.</summary>
    public int NetworkEvaluations { get; private set; }

    /// <summary>Steps in which no sequence needed the network (every output came from the cache) since the last reset.</summary>
    public int CachedEvaluations { get; private set; }

    /// <summary>
    /// Calls made to the network since the last reset: one per step that needs it, or with no staging
    /// batch (<see cref="Gathers"/>) one per contiguous range of sequences it evaluates.
    /// </summary>
    public int NetworkCalls { get; private set; }

    /// <summary>Steps since the last reset whose scattered sequences were gathered into the staging batch for one call.</summary>
    public int GatheredEvaluations { get; private set; }

    /// <summary>
    /// Whether this sampler gathers scattered sequences into one call: a caching sampler of three or more
    /// sequences whose staging batch (up to B − 1 sequences' outputs) fits in memory. Without it each
    /// contiguous range of sequences is a call of its own.
    /// </summary>
    public bool Gathers => stageRows.Length > 0;

    /// <summary>Sequences evaluated by the network since the last reset, summed over steps (the work actually done).</summary>
    public long RowEvaluations { get; private set; }

    /// <summary>Sequences whose output came from the cache since the last reset, summed over steps (the work saved).</summary>
    public long CachedRows { get; private set; }

    /// <summary>Whether this sampler caches the network's output (a time-independent network and <see cref="SamplingOptions.CacheScores"/>).</summary>
    public bool Caching => caching;

    /// <summary>Time spent inside the network since the last reset.</summary>
    public TimeSpan NetworkTime => TimeSpan.FromSeconds((double)networkTicks / Stopwatch.Frequency);

    void InitializeNetwork(IScoreFunctionTraits? traits)
    {
        caching = Options.CacheScores && traits is { TimeIndependent: true };
        scaleBySigma = traits is { ScaleBySigma: true };
        evaluatedTokens = caching ? new long[tokens.Length] : [];
        evaluatedSigma = new float[Batch];
        cacheValid = new bool[Batch];
        targetSigma = new double[Batch];
        rowShift = new double[Batch];
        evaluate = new bool[Batch];
        sequenceEvaluations = new long[Batch];
        sequenceCached = new long[Batch];
        // Caching leaves gaps between the sequences that changed; a staging batch turns a step's several
        // range calls into one, when its output buffer fits beside the sampler's own.
        int rows = Batch - 1;
        long stageBytes = MemoryBudget.Product(rows, Length, dimension, sizeof(float));
        if (caching && Batch >= 3 && MemoryBudget.Fits(EstimateBytes(Batch, Length, dimension) + stageBytes))
        {
            stageTokens = new long[rows * Length];
            stageSigma = new float[rows];
            stageScore = new float[(long)rows * Length * dimension];
            stageRows = new int[rows];
        }
    }

    /// <summary>How often sequence <paramref name="b"/> was evaluated by the network and taken from the cache since the last reset.</summary>
    /// <param name="b">Sequence index.</param>
    public (long Evaluated, long Cached) SequenceEvaluations(int b) => (sequenceEvaluations[b], sequenceCached[b]);

    void ResetNetwork()
    {
        Array.Clear(cacheValid);
        Array.Clear(rowShift);
        Array.Clear(sequenceEvaluations);
        Array.Clear(sequenceCached);
        NetworkEvaluations = CachedEvaluations = NetworkCalls = GatheredEvaluations = 0;
        RowEvaluations = CachedRows = 0;
        networkTicks = 0;
    }

    // Every active sequence at the same σ̄ (the predictor and denoiser steps; cast after evaluating in double).
    void EvaluateAll(double sigmaBar)
    {
        Array.Fill(targetSigma, sigmaBar);
        Evaluate(active);
    }

    // Evaluates each active sequence at targetSigma[b]: from the cache when its tokens are those of its
    // last evaluation (time-independent networks), else through the network. Contiguous sequences are
    // evaluated in place, straight into their slice of the output; scattered ones are gathered into the
    // staging batch for one call and their outputs copied back (or, without staging, one call per
    // contiguous range). The network's output for a sequence does not depend on its batch companions.
    void Evaluate(bool[] wanted)
    {
        int length = Length;
        int needed = 0;
        for (int b = 0; b < Batch; b++)
        {
            evaluate[b] = false;
            rowShift[b] = 0;
            if (!wanted[b] || !active[b]) continue;
            float s = (float)targetSigma[b];
            if (caching && cacheValid[b] && tokens.AsSpan(b * length, length).SequenceEqual(evaluatedTokens.AsSpan(b * length, length)))
            {
                // Exact: the buffer still holds the output at evaluatedSigma; rows read it shifted by
                // ln expm1s(σ̄_old) − ln expm1s(σ̄_new), own token kept at 0.
                if (scaleBySigma && s != evaluatedSigma[b])
                    rowShift[b] = Math.Log(SeddMath.Expm1s(evaluatedSigma[b])) - Math.Log(SeddMath.Expm1s(s));
                CachedRows++;
                sequenceCached[b]++;
                continue;
            }
            evaluate[b] = true;
            outputVersion[b]++; // the rows' cached sums (Rows) no longer describe this sequence's output
            sequenceEvaluations[b]++;
            sigma[b] = s;
            needed++;
        }
        if (needed == 0)
        {
            CachedEvaluations++;
            return;
        }
        EnsureBound();
        if (Gathers && needed < Batch && !Contiguous(needed)) EvaluateGathered(needed);
        else EvaluateRanges();
        NetworkEvaluations++;
        if (!caching) return;
        for (int b = 0; b < Batch; b++)
        {
            if (!evaluate[b]) continue;
            tokens.AsSpan(b * length, length).CopyTo(evaluatedTokens.AsSpan(b * length, length));
            evaluatedSigma[b] = sigma[b];
            cacheValid[b] = true;
        }
    }

    // Whether the sequences to evaluate form one contiguous range.
    bool Contiguous(int needed)
    {
        int first = Array.IndexOf(evaluate, true);
        return first + needed <= Batch && Array.IndexOf(evaluate, false, first, needed) < 0;
    }

    // One call per contiguous range of sequences, each written in place.
    void EvaluateRanges()
    {
        int length = Length, d = dimension;
        for (int first = 0; first < Batch;)
        {
            if (!evaluate[first]) { first++; continue; }
            int end = first + 1;
            while (end < Batch && evaluate[end]) end++;
            int count = end - first;
            long start = Stopwatch.GetTimestamp();
            model.Score(tokens.AsSpan(first * length, count * length), sigma.AsSpan(first, count),
                logScore.AsSpan(first * length * d, count * length * d));
            networkTicks += Stopwatch.GetTimestamp() - start;
            NetworkCalls++;
            RowEvaluations += count;
            first = end;
        }
    }

    // Copies the scattered sequences into the staging batch, evaluates it in one call, and copies each
    // output row back to its sequence's slice (needed ≤ B − 1, the staging capacity).
    void EvaluateGathered(int needed)
    {
        int length = Length, rowScore = Length * dimension;
        int n = 0;
        for (int b = 0; b < Batch; b++)
        {
            if (!evaluate[b]) continue;
            tokens.AsSpan(b * length, length).CopyTo(stageTokens.AsSpan(n * length, length));
            stageSigma[n] = sigma[b];
            stageRows[n++] = b;
        }
        long start = Stopwatch.GetTimestamp();
        model.Score(stageTokens.AsSpan(0, n * length), stageSigma.AsSpan(0, n), stageScore.AsSpan(0, n * rowScore));
        networkTicks += Stopwatch.GetTimestamp() - start;
        for (int i = 0; i < n; i++)
            stageScore.AsSpan(i * rowScore, rowScore).CopyTo(logScore.AsSpan(stageRows[i] * rowScore, rowScore));
        NetworkCalls++;
        GatheredEvaluations++;
        RowEvaluations += needed;
    }
}
