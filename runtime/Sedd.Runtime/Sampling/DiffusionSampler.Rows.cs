using System.Numerics.Tensors;

namespace Sedd.Runtime.Sampling;

// The per-row half of the sampler: which rows to draw, the score row → weights → draw pipeline,
// and its distribution over threads.
public sealed partial class DiffusionSampler
{
    // Below this many score entries per step the thread hand-off costs more than it saves.
    const long MinParallelWork = 1 << 16;

    enum RowKind { Euler, Analytic, Denoise }

    int workers;
    int[] rows = [];
    double[][] scoreRows = [];
    double[][] weightRows = [];
    RowWorkers.Owner? team;
    Action<int> drawWorker = null!;

    // State of the step being drawn, read by the workers.
    RowKind rowKind;
    double rowScalar;
    ulong rowSeed;
    ulong rowStep;
    int rowCount;
    int activeWorkers;
    int badRow;
    double scoreShift; // added to every log-score but the own token's when the output is cached

    void InitializeRows(int threads)
    {
        workers = Math.Max(1, threads);
        rows = new int[tokens.Length];
        scoreRows = new double[workers][];
        weightRows = new double[workers][];
        for (int w = 0; w < workers; w++)
        {
            scoreRows[w] = new double[graph.Dimension];
            weightRows[w] = new double[graph.Dimension];
        }
        team = workers > 1 ? RowWorkers.Start(workers) : null;
        drawWorker = DrawWorker; // cached: no delegate allocation per step
    }

    void DrawRows(RowKind kind, double scalar, ulong seed, ulong step)
    {
        int n = 0;
        for (int r = 0; r < tokens.Length; r++)
            if (!fixedPosition[r % Length] && graph.CanChange(tokens[r])) rows[n++] = r;
        (rowKind, rowScalar, rowSeed, rowStep, rowCount, badRow) = (kind, scalar, seed, step, n, -1);

        activeWorkers = Math.Min(workers, n);
        if (activeWorkers <= 1 || (long)n * graph.Dimension < MinParallelWork)
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
        int d = graph.Dimension;
        var s = scoreRows[worker].AsSpan();
        var weights = weightRows[worker].AsSpan(0, rowKind == RowKind.Denoise ? graph.DenoiseWidth : d);
        for (int k = from; k < to; k++)
        {
            int r = rows[k];
            long x = tokens[r];
            var log = logScore.AsSpan(r * d, d);
            if (TensorPrimitives.IsNaNAny(log) || TensorPrimitives.IsPositiveInfinityAny(log))
            {
                Interlocked.CompareExchange(ref badRow, r, -1);
                continue;
            }
            // s = exp(log-score) in double (spec §6.1); −∞ gives an exact 0.
            TensorPrimitives.ConvertChecked<float, double>(log, s);
            if (scoreShift != 0)
            {
                TensorPrimitives.Add<double>(s, scoreShift, s);
                s[(int)x] = 0;
            }
            TensorPrimitives.Exp<double>(s, s);
            switch (rowKind)
            {
                case RowKind.Euler: graph.EulerWeights(x, s, rowScalar, weights); break;
                case RowKind.Analytic: graph.AnalyticWeights(x, s, rowScalar, weights); break;
                default: graph.DenoiseWeights(x, s, rowScalar, weights); break;
            }
            var random = Xoshiro256StarStar.ForRow(rowSeed, rowStep, (ulong)r);
            tokens[r] = sampler.Sample(weights, r, ref random);
        }
    }
}
