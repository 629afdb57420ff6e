namespace Sedd.Runtime.Sampling;

/// <summary>
/// A fixed team of threads that runs one piece of work per worker and returns when all are done:
/// the fork-join the sampler needs once per step, without the task objects that
/// <see cref="Parallel.For(int, int, Action{int})"/> allocates on every call. The calling thread is
/// worker 0; workers 1..n-1 are background threads parked on a monitor between steps. (A
/// <see cref="Barrier"/> allocates its events' lock objects lazily, the first time a thread really
/// blocks, which can happen at any step; <see cref="Monitor"/> waits allocate nothing managed.)
/// </summary>
/// <remarks>
/// Between runs the threads hold no reference to the work, only to this object, so an owner that is
/// no longer used can be collected; its <see cref="Owner"/> handle then stops the threads.
/// </remarks>
sealed class RowWorkers
{
    readonly object gate = new();
    Action<int>? work;
    long generation;   // incremented once per run; a worker runs each generation once
    int remaining;     // workers 1..n-1 still busy in this run
    bool stopping;

    RowWorkers(int count)
    {
        Count = count;
        for (int w = 1; w < count; w++)
        {
            int worker = w;
            new Thread(() => Loop(worker)) { IsBackground = true, Name = $"sedd-rows-{worker}" }.Start();
        }
    }

    /// <summary>Workers, the calling thread included.</summary>
    public int Count { get; }

    /// <summary>Starts a team of <paramref name="count"/> (≥ 2) workers, owned by the returned handle.</summary>
    /// <param name="count">Workers including the caller.</param>
    public static Owner Start(int count) => new(new RowWorkers(count));

    /// <summary>Runs <paramref name="body"/>(w) for every worker w and returns when all have finished.</summary>
    /// <param name="body">Work of one worker; it must not throw (record failures in fields instead).</param>
    public void Run(Action<int> body)
    {
        lock (gate)
        {
            work = body;
            remaining = Count - 1;
            generation++;
            Monitor.PulseAll(gate);   // go
        }
        body(0);
        lock (gate)
        {
            while (remaining > 0) Monitor.Wait(gate);   // done
            work = null;
        }
    }

    void Loop(int worker)
    {
        long seen = 0;
        while (true)
        {
            Action<int> body;
            lock (gate)
            {
                while (generation == seen && !stopping) Monitor.Wait(gate);
                if (stopping) return;
                seen = generation;
                body = work!;
            }
            body(worker);
            lock (gate)
            {
                if (--remaining == 0) Monitor.PulseAll(gate);
            }
        }
    }

    void Stop()
    {
        lock (gate)
        {
            stopping = true;
            Monitor.PulseAll(gate);   // the parked threads see the flag and end
        }
    }

    /// <summary>Owns a team: stops its threads when disposed or, failing that, when collected.</summary>
    public sealed class Owner : IDisposable
    {
        RowWorkers? team;

        internal Owner(RowWorkers team) => this.team = team;

        /// <summary>The team (null after disposal).</summary>
        public RowWorkers Team => team ?? throw new ObjectDisposedException(nameof(RowWorkers));

        /// <inheritdoc/>
        public void Dispose()
        {
            Interlocked.Exchange(ref team, null)?.Stop();
            GC.SuppressFinalize(this);
        }

        /// <summary>Stops the threads of a team whose sampler was dropped without disposal.</summary>
        ~Owner() => Interlocked.Exchange(ref team, null)?.Stop();
    }
}
