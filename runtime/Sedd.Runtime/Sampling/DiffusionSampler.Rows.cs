using System.Numerics.Tensors;

namespace Sedd.Runtime.Sampling;

// The per-row half of the sampler: which rows to draw, the score row → weights → draw pipeline, and
// its distribution over threads.
public sealed partial class DiffusionSampler
{
    // Below this many score entries per step the thread hand-off costs more than it saves.
    const long MinParallelWork = 1 << 16;

    enum RowKind { Euler, Analytic, Denoise, FirstHitting }

    int workers;
    int[] rows = [];
    double[][] scoreRows = [];
    double[][] weightRows = [];
    float[][] expRows = [];
    double[][] chunkSums = [];
    RowWorkers.Owner? team;
    Action<int> drawWorker = null!;

    // Per-row sums of exp(ℓ) at the σ̄ the sequence's output was computed at (caching samplers with fused
    // draws). A cached output read at a new σ̄ is the same row shifted by a constant, so its weights are the
    // same sums times e^shift: a row that stays masked then costs O(1) instead of a pass over the vocabulary.
    bool rowSumCaching;
    double[] rowTotals = [];     // [B·L]
    double[] rowSums = [];       // [B·L·chunks]
    int[] rowSumVersion = [];    // [B·L]: the sequence's outputVersion the row's sums belong to (0: none)
    int[] outputVersion = [];    // [B]: incremented whenever the network writes the sequence's output
    long[] rowPasses = [];       // [workers × 8, one cache line each]: full passes over a row since the last reset

    // State of the step being drawn, read by the workers.
    RowKind rowKind;
    double rowScalar;
    ulong rowStep;
    int rowCount;
    int activeWorkers;
    int badRow;

    void InitializeRows(int threads)
    {
        workers = Math.Max(1, threads);
        rows = new int[tokens.Length];
        scoreRows = new double[workers][];
        weightRows = new double[workers][];
        expRows = new float[workers][];
        chunkSums = new double[workers][];
        for (int w = 0; w < workers; w++)
        {
            scoreRows[w] = new double[dimension];
            weightRows[w] = new double[dimension];
            if (!fusedDraws) continue;
            expRows[w] = new float[dimension];
            chunkSums[w] = new double[(dimension + RowSums.Chunk - 1) / RowSums.Chunk];
        }
        rowSumCaching = caching && fusedDraws;
        if (rowSumCaching)
        {
            int chunks = RowChunks(dimension);
            rowTotals = new double[tokens.Length];
            rowSums = new double[(long)tokens.Length * chunks];
            rowSumVersion = new int[tokens.Length];
        }
        outputVersion = new int[Batch];
        rowPasses = new long[workers * 8];
        team = workers > 1 ? RowWorkers.Start(workers) : null;
        drawWorker = DrawWorker; // cached: no delegate allocation per step
    }

    static int RowChunks(int dimension) => (dimension - 1 + RowSums.Chunk - 1) / RowSums.Chunk;

    /// <summary>
    /// Full passes over a score row (exp and sums over every state) since the last reset. With caching,
    /// a masked row whose sequence's output came from the cache is drawn without one.
    /// </summary>
    public long RowPasses => rowPasses.Sum();

    void ResetRows()
    {
        Array.Clear(rowSumVersion);
        Array.Clear(outputVersion);
        Array.Clear(rowPasses);
    }

    void DrawRows(RowKind kind, double scalar, ulong step)
    {
        int n = 0, length = Length;
        for (int b = 0; b < Batch; b++)
        {
            if (!active[b]) continue;
            for (int r = b * length, end = r + length; r < end; r++)
                if (!fixedPosition[r] && graph.CanChange(tokens[r])) rows[n++] = r;
        }
        DrawCollected(kind, scalar, step, n);
    }

    void DrawCollected(RowKind kind, double scalar, ulong step, int n)
    {
        (rowKind, rowScalar, rowStep, rowCount, badRow) = (kind, scalar, step, n, -1);
        activeWorkers = Math.Min(workers, n);
        if (activeWorkers <= 1 || (long)n * dimension < MinParallelWork)
            DrawRange(0, n, 0);
        else
            team!.Team.Run(drawWorker);

        if (badRow >= 0)
            throw new SeddException($"the score network returned NaN or +infinity at step {step} (sequence {badRow / Length}, position {badRow % Length}); the model or its input is broken", SeddException.BadInput);
    }

    void DrawWorker(int worker)
    {
        if (worker >= activeWorkers) return; // fewer rows than workers this step
        int from = (int)((long)worker * rowCount / activeWorkers);
        int to = (int)((long)(worker + 1) * rowCount / activeWorkers);
        DrawRange(from, to, worker);
    }

    void DrawRange(int from, int to, int worker)
    {
        for (int k = from; k < to; k++)
        {
            int r = rows[k];
            int b = r / Length;
            var setup = setups[b];
            var random = Xoshiro256StarStar.ForRow(setup.Seed, rowStep, setup.Index * (ulong)Length + (ulong)(r - b * Length));
            long drawn = fusedDraws ? DrawMaskedRow(r, b, ref random, worker) : DrawGenericRow(r, b, ref random, worker);
            if (drawn < 0) Interlocked.CompareExchange(ref badRow, r, -1);
            else tokens[r] = drawn;
        }
    }

    // Absorbing graph, inverse-CDF draw, masked row: the weights of every reverse step are c·s_y for the
    // real tokens y and w_M for staying masked, with s_y = exp(ℓ_y + shift):
    //   Euler:    c = Δt·σ'(t),         w_M = 1 − c·Σs
    //   analytic: c = e^Δσ − 1,         w_M = s_M − c·Σs = 1 − c·Σs   (s_M = 1: the own token's log-score is 0)
    //   denoise:  c = e^σ̄(eps) − 1,     w_M = 0 (no mask survives)
    //   first-hitting: the row unmasks for certain, c = 1, w_M = 0.
    // One uniform decides: below c·Σs the row unmasks and the same uniform, rescaled, picks the token
    // (exactly the inverse CDF over [c·s, max(w_M, 0)]); above it stays masked. The exp and the chunk
    // sums are one pass over the row; the token search reads one chunk. A caching sampler keeps the sums
    // of exp(ℓ) per row and weighs them by k = c·e^shift, so a cached row needs no pass to stay masked.
    long DrawMaskedRow(int r, int b, ref Xoshiro256StarStar random, int worker)
    {
        int v = dimension - 1, chunks = RowChunks(dimension);
        var log = logScore.AsSpan(r * dimension, v);
        var exp = expRows[worker].AsSpan(0, v);
        Span<double> sums;
        double total, k;
        bool expFilled = true;
        double c = rowKind == RowKind.FirstHitting ? 1 : rowScalar;
        if (rowSumCaching)
        {
            sums = rowSums.AsSpan(r * chunks, chunks);
            if (rowSumVersion[r] == outputVersion[b]) { total = rowTotals[r]; expFilled = false; }
            else
            {
                total = RowSums.ExpChunkSums(log, 0f, exp, sums);
                rowPasses[worker * 8]++;
                rowTotals[r] = total;
                rowSumVersion[r] = outputVersion[b];
            }
            k = rowShift[b] == 0 ? c : c * Math.Exp(rowShift[b]);
        }
        else
        {
            sums = chunkSums[worker];
            total = RowSums.ExpChunkSums(log, (float)rowShift[b], exp, sums);
            rowPasses[worker * 8]++;
            k = c;
        }
        if (!(total >= 0) || double.IsInfinity(total)) return -1;
        double unmask = k * total;
        double stay = rowKind is RowKind.Denoise or RowKind.FirstHitting ? 0 : Math.Max(0, 1 - unmask);
        double u = random.NextDouble();
        if (!(unmask > 0)) return stay > 0 ? v : TensorPrimitives.IndexOfMax(log);
        double target = u * (unmask + stay);
        if (target >= unmask) return v; // stays masked
        var choice = choices[b];
        if (!choice.IsNeutral) return choice.Draw(log, target / unmask, scoreRows[worker]);
        // Inverse CDF over k·exp: whole chunks first, then one chunk entry by entry.
        double running = 0;
        int chunk = 0;
        while (chunk < chunks - 1 && running + k * sums[chunk] <= target) running += k * sums[chunk++];
        int start = chunk * RowSums.Chunk, end = Math.Min(v, start + RowSums.Chunk), lastPositive = -1;
        if (!expFilled) RowSums.Exp(log[start..end], exp[start..end]); // the same values the pass computed
        for (int i = start; i < end; i++)
        {
            double w = exp[i];
            if (!(w > 0)) continue;
            lastPositive = i;
            running += k * w;
            if (running > target) return i;
        }
        // Rounding: the scan summed slightly less than the chunk's vector sum; the target is within an
        // ulp of the chunk's end, so its last positive entry is the right pick.
        if (lastPositive >= 0) return lastPositive;
        if (!expFilled) RowSums.ExpChunkSums(log, 0f, exp, chunkSums[worker]);
        for (int i = start - 1; i >= 0; i--) if (exp[i] > 0) return i;
        return TensorPrimitives.IndexOfMax(log);
    }

    // Any graph and categorical sampler: s = exp(ℓ) in double, the graph's weights, the sampler's draw.
    long DrawGenericRow(int r, int b, ref Xoshiro256StarStar random, int worker)
    {
        long x = tokens[r];
        var log = logScore.AsSpan(r * dimension, dimension);
        if (TensorPrimitives.IsNaNAny(log) || TensorPrimitives.IsPositiveInfinityAny(log)) return -1;
        var s = scoreRows[worker].AsSpan();
        var weights = weightRows[worker].AsSpan(0, rowKind == RowKind.Denoise ? graph.DenoiseWidth : dimension);
        // s = exp(log-score) in double; −∞ gives an exact 0.
        TensorPrimitives.ConvertChecked<float, double>(log, s);
        double shift = rowShift[b];
        if (shift != 0)
        {
            TensorPrimitives.Add<double>(s, shift, s);
            s[(int)x] = 0;
        }
        TensorPrimitives.Exp<double>(s, s);
        switch (rowKind)
        {
            case RowKind.Euler: graph.EulerWeights(x, s, rowScalar, weights); break;
            case RowKind.Analytic: graph.AnalyticWeights(x, s, rowScalar, weights); break;
            case RowKind.Denoise: graph.DenoiseWeights(x, s, rowScalar, weights); break;
            default:
                // First-hitting: the clean token's distribution, p_y ∝ s_y over the real tokens.
                weights = weights[..graph.Tokens];
                s[..graph.Tokens].CopyTo(weights);
                break;
        }
        var choice = choices[b];
        if (!choice.IsNeutral && graph is AbsorbingSamplingGraph absorbing && x == absorbing.Mask)
        {
            // Same rule as the fused path: the unmask mass is the model's, the token is reshaped.
            double unmask = 0;
            foreach (double w in weights[..absorbing.Mask]) unmask += Math.Max(w, 0);
            double stay = weights.Length > absorbing.Mask ? Math.Max(weights[absorbing.Mask], 0) : 0;
            double target = random.NextDouble() * (unmask + stay);
            if (!(unmask > 0) || target >= unmask) return stay > 0 ? absorbing.Mask : TensorPrimitives.IndexOfMax(log[..absorbing.Mask]);
            return choice.Draw(log[..absorbing.Mask], target / unmask, s);
        }
        return sampler.Sample(weights, r, ref random);
    }
}
