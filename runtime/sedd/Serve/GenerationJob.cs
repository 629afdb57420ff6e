using System.Diagnostics;
using Sedd.Runtime.Generation;

namespace Sedd.Cli.Serve;

/// <summary>
/// A slice of one prompt's samples: the unit the scheduler puts into a batch. A request whose samples
/// exceed the batch size is cut into pieces by sample number; sample i always draws from the stream
/// (seed, i), so the pieces give exactly the samples one large batch would.
/// </summary>
sealed class JobPiece(GenerationJob job, int text, GenerationPlan plan)
{
    /// <summary>The request this piece belongs to.</summary>
    public GenerationJob Job { get; } = job;

    /// <summary>Index of the prompt (or template) in the request.</summary>
    public int Text { get; } = text;

    /// <summary>The checked slice: its <c>FirstIndex</c> and <c>Count</c> say which samples.</summary>
    public GenerationPlan Plan { get; } = plan;

    /// <summary>Sequences this piece adds to a batch.</summary>
    public int Sequences => Plan.Request.Count;

    /// <summary>Pieces with equal keys can share a batch (same sampler, steps, first window).</summary>
    public string Key => Plan.BatchKey;

    /// <summary>Choice index of this piece's sample <paramref name="sample"/> in the reply.</summary>
    public int ChoiceOf(int sample) => Text * Job.Request.N + Plan.Request.FirstIndex + sample;

    /// <summary>Number of the batch this piece ran in (pieces of one batch share network passes).</summary>
    public long Batch { get; set; }

    /// <summary>What the generator returned for this piece (once it ran).</summary>
    public GenerationResult? Result { get; set; }
}

/// <summary>
/// One HTTP request on its way through the scheduler: its pieces, its cancellation (the client
/// disconnected), an optional stream of step canvases, and the outcome the endpoint awaits.
/// </summary>
sealed class GenerationJob
{
    readonly TaskCompletionSource completion = new(TaskCreationOptions.RunContinuationsAsynchronously);
    readonly CancellationTokenSource cancel = new();
    int finished;

    GenerationJob(CompletionRequest request, ulong seed, StepStream? stream)
    {
        Request = request;
        Seed = seed;
        Stream = stream;
    }

    /// <summary>
    /// Checks every prompt of <paramref name="request"/> with the generator (a 400 naming the field
    /// otherwise) and cuts it into pieces of at most <paramref name="maxBatch"/> samples.
    /// </summary>
    public static GenerationJob Create(SeddGenerator generator, CompletionRequest request, ulong seed, int maxBatch, StepStream? stream)
    {
        var job = new GenerationJob(request, seed, stream);
        var pieces = new List<JobPiece>();
        for (int t = 0; t < request.Texts.Count; t++)
        {
            var whole = generator.Plan(request.ToGeneration(t, seed), ParameterNames.Api);
            for (int first = 0; first < request.N; first += maxBatch)
            {
                int count = Math.Min(maxBatch, request.N - first);
                var plan = count == request.N ? whole : generator.Plan(whole.Request with { Count = count, FirstIndex = first }, ParameterNames.Api);
                pieces.Add(new JobPiece(job, t, plan));
            }
        }
        job.Pieces = pieces;
        return job;
    }

    /// <summary>The request.</summary>
    public CompletionRequest Request { get; }

    /// <summary>The run seed every prompt uses.</summary>
    public ulong Seed { get; }

    /// <summary>Where step canvases go (streaming requests only).</summary>
    public StepStream? Stream { get; }

    /// <summary>The pieces, in prompt and sample order.</summary>
    public IReadOnlyList<JobPiece> Pieces { get; private set; } = [];

    /// <summary>Pieces handed to a batch so far (the scheduler's cursor).</summary>
    public int Dispatched { get; set; }

    /// <summary>Sequences of every piece.</summary>
    public int Sequences => Pieces.Sum(p => p.Sequences);

    /// <summary>When the request entered the queue.</summary>
    public long QueuedAt { get; set; } = Stopwatch.GetTimestamp();

    /// <summary>Set when the client went away: the generator freezes this request's rows.</summary>
    public CancellationToken Cancelled => cancel.Token;

    /// <summary>Completes when every piece ran, or with the failure that ended the request.</summary>
    public Task Completion => completion.Task;

    /// <summary>Called (once) when the request is cancelled, so the scheduler can free its queue slot.</summary>
    public Action<GenerationJob>? OnCancel { get; set; }

    /// <summary>The client disconnected: stop generating for it.</summary>
    public void Cancel()
    {
        if (cancel.IsCancellationRequested) return;
        cancel.Cancel();
        OnCancel?.Invoke(this);
    }

    /// <summary>A piece finished; the request completes with its last piece.</summary>
    public void PieceDone(JobPiece piece, GenerationResult result)
    {
        piece.Result = result;
        if (Interlocked.Increment(ref finished) == Pieces.Count)
        {
            Stream?.Complete();
            completion.TrySetResult();
        }
    }

    /// <summary>Ends the request with a failure (the answer is <see cref="ApiErrors.From"/> of it).</summary>
    public void Fail(Exception error)
    {
        Stream?.Complete();
        completion.TrySetException(error);
    }

    /// <summary>The results in choice order: (choice index, prompt index, piece result, sample).</summary>
    public IEnumerable<(int Choice, JobPiece Piece, GeneratedSample Sample)> Samples() =>
        Pieces.SelectMany(p => p.Result!.Samples.Select(s => (p.ChoiceOf(s.Index), p, s))).OrderBy(x => x.Item1);
}
