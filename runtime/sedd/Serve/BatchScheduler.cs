using System.Diagnostics;
using Sedd.Runtime.Generation;

namespace Sedd.Cli.Serve;

/// <summary>
/// Forms batches and runs them on one generating thread. Requests wait in a bounded FIFO queue; the
/// worker takes the first waiting piece, then for a short window (<c>--batch-wait-ms</c>) gathers the
/// pieces of later requests with the same batch key (sampler, steps, canvas) until the batch holds
/// <c>--max-batch</c> sequences, and runs them as one <see cref="SeddGenerator.Generate(IReadOnlyList{GenerationPlan}, IReadOnlyList{CancellationToken}?, IGenerationObserver?, CancellationToken)"/>
/// call. Each sample is what it would be alone, so batching changes speed, never text. Requests with
/// other keys keep their place and go in a later batch.
/// </summary>
sealed class BatchScheduler : IDisposable
{
    readonly SeddGenerator generator;
    readonly ServerMetrics metrics;
    readonly LinkedList<GenerationJob> queue = new();
    readonly object gate = new();
    readonly CancellationTokenSource abort = new();
    readonly Thread worker;
    readonly MemoryKeeper memory = new();
    bool accepting = true;
    bool stopping;
    long batches;

    public BatchScheduler(SeddGenerator generator, ServerMetrics metrics, int maxBatch, int maxQueue, TimeSpan batchWait)
    {
        this.generator = generator;
        this.metrics = metrics;
        MaxBatch = maxBatch;
        MaxQueue = maxQueue;
        BatchWait = batchWait;
        worker = new Thread(Work) { Name = "sedd-generate", IsBackground = true };
        worker.Start();
    }

    /// <summary>Most sequences per batch.</summary>
    public int MaxBatch { get; }

    /// <summary>Most requests waiting.</summary>
    public int MaxQueue { get; }

    /// <summary>How long the worker waits for more requests to join a batch.</summary>
    public TimeSpan BatchWait { get; }

    /// <summary>Queues a request; a 429 when the queue is full, a 503 once the server stops.</summary>
    public void Submit(GenerationJob job)
    {
        lock (gate)
        {
            if (!accepting) throw ApiErrors.ShuttingDown();
            if (queue.Count >= MaxQueue)
                throw new ApiException(429, $"the server is busy ({queue.Count} requests waiting, --max-queue {MaxQueue}); try again shortly", code: "rate_limit_exceeded")
                { RetryAfterSeconds = 1 };
            job.QueuedAt = Stopwatch.GetTimestamp();
            job.OnCancel = Withdraw;
            queue.AddLast(job);
            metrics.QueueDepth.Set(queue.Count);
            Monitor.PulseAll(gate);
        }
    }

    /// <summary>
    /// Stops taking requests and answers every waiting one with 503; the running batch goes on until it
    /// ends or <see cref="Abort"/>.
    /// </summary>
    public void StopAccepting()
    {
        List<GenerationJob> waiting;
        lock (gate)
        {
            accepting = false;
            stopping = true;
            waiting = [.. queue.Where(j => j.Dispatched == 0)];
            foreach (var j in waiting) queue.Remove(j);
            metrics.QueueDepth.Set(queue.Count);
            Monitor.PulseAll(gate);
        }
        foreach (var j in waiting) j.Fail(ApiErrors.ShuttingDown());
    }

    /// <summary>Ends the running batch between two steps (its requests get 503).</summary>
    public void Abort() => abort.Cancel();

    /// <summary>Waits until the worker has nothing left to run.</summary>
    public bool WaitIdle(TimeSpan timeout) => worker.Join(timeout);

    // The request's client went away: a request no piece of which has started leaves the queue now
    // (freeing its place); one that is running has its rows frozen by the generator.
    void Withdraw(GenerationJob job)
    {
        bool removed;
        lock (gate)
        {
            removed = job.Dispatched == 0 && queue.Remove(job);
            metrics.QueueDepth.Set(queue.Count);
        }
        if (removed) job.Fail(new OperationCanceledException("the client went away"));
    }

    void Work()
    {
        while (true)
        {
            var batch = NextBatch();
            if (batch == null) return;
            Run(batch);
        }
    }

    // The next batch: the first waiting piece and, within the wait window, every later piece with its key
    // that still fits. Null when the scheduler stops and nothing is left.
    List<JobPiece>? NextBatch()
    {
        lock (gate)
        {
            while (queue.Count == 0)
            {
                if (stopping) return null;
                Monitor.Wait(gate);
            }
            var first = queue.First!.Value;
            var key = first.Pieces[first.Dispatched].Key;
            var batch = new List<JobPiece>();
            int sequences = 0;
            long deadline = Stopwatch.GetTimestamp() + (long)(BatchWait.TotalSeconds * Stopwatch.Frequency);
            while (true)
            {
                for (var node = queue.First; node != null;)
                {
                    var job = node.Value;
                    var next = node.Next;
                    if (job.Completion.IsCompleted)
                    {
                        // Failed while some of its pieces waited: the rest need not run.
                        queue.Remove(node);
                        node = next;
                        continue;
                    }
                    while (job.Dispatched < job.Pieces.Count)
                    {
                        var piece = job.Pieces[job.Dispatched];
                        // The first piece always goes, even alone; the others only if they fit.
                        if (piece.Key != key || (batch.Count > 0 && sequences + piece.Sequences > MaxBatch)) break;
                        batch.Add(piece);
                        sequences += piece.Sequences;
                        job.Dispatched++;
                    }
                    if (job.Dispatched == job.Pieces.Count) queue.Remove(node);
                    node = next;
                }
                long now = Stopwatch.GetTimestamp();
                if (sequences >= MaxBatch || stopping || now >= deadline) break;
                Monitor.Wait(gate, TimeSpan.FromSeconds((deadline - now) / (double)Stopwatch.Frequency));
            }
            metrics.QueueDepth.Set(queue.Count);
            return batch;
        }
    }

    void Run(List<JobPiece> batch)
    {
        var live = batch.Where(p => !p.Job.Cancelled.IsCancellationRequested && !p.Job.Completion.IsCompleted).ToList();
        foreach (var p in batch.Except(live)) p.Job.Fail(new OperationCanceledException("the client went away"));
        if (live.Count == 0) return;
        long number = ++batches;
        foreach (var p in live) p.Batch = number;
        int sequences = live.Sum(p => p.Sequences);
        metrics.Running.Set(sequences);
        metrics.BatchSequences.Observe(sequences);
        metrics.BatchRequests.Observe(live.Select(p => p.Job).Distinct().Count());
        try
        {
            var results = generator.Generate([.. live.Select(p => p.Plan)], [.. live.Select(p => p.Job.Cancelled)], BatchObserver.For(live), abort.Token);
            Count(results);
            for (int i = 0; i < live.Count; i++) live[i].Job.PieceDone(live[i], results[i]);
        }
        catch (OperationCanceledException) when (abort.IsCancellationRequested)
        {
            foreach (var p in live) p.Job.Fail(ApiErrors.ShuttingDown());
        }
#pragma warning disable CA1031 // A failed batch answers its requests (400, 503 or a generic 500); the server goes on.
        catch (Exception e)
#pragma warning restore CA1031
        {
            foreach (var p in live) p.Job.Fail(e);
        }
        finally
        {
            metrics.Running.Set(0);
            bool idle;
            lock (gate) idle = queue.Count == 0;
            memory.AfterBatch(idle);
        }
    }

    // Network passes are shared by the pieces of one key; the generator reports each piece's count of them.
    void Count(IReadOnlyList<GenerationResult> results)
    {
        metrics.NetworkEvaluations.Inc(results.GroupBy(r => r.Plan.BatchKey).Sum(g => g.Max(r => r.NetworkEvaluations)));
        metrics.RowEvaluations.Inc(results.Sum(r => r.RowEvaluations));
        metrics.CachedRows.Inc(results.Sum(r => r.CachedRows));
        metrics.GeneratedTokens.Inc(results.Sum(r => r.CompletionTokens));
        // A prompt cut into several pieces counts once, with its first piece.
        metrics.PromptTokens.Inc(results.Where(r => r.Plan.Request.FirstIndex == 0).Sum(r => r.PromptTokens));
    }

    /// <inheritdoc/>
    public void Dispose()
    {
        StopAccepting();
        Abort();
        worker.Join(TimeSpan.FromSeconds(10));
        abort.Dispose();
    }
}
