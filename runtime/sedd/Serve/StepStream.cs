using System.Threading.Channels;
using Sedd.Runtime.Generation;

namespace Sedd.Cli.Serve;

/// <summary>One streamed canvas: the whole current completion of one choice, masks as a placeholder.</summary>
readonly record struct StepUpdate(int Choice, string Text, int Window, int Step, int Steps);

/// <summary>
/// The step canvases of one streaming request, from the generating thread to the response writer. The
/// generator never waits for a slow client: each update is a whole canvas, so when more than
/// <see cref="MaxPendingChars"/> of text wait for the writer, the oldest pending canvases are dropped
/// and the client simply sees fewer, newer ones.
/// </summary>
sealed class StepStream(int interval, string maskGlyph)
{
    /// <summary>Text a stream may hold for its writer (about 2 MB).</summary>
    public const int MaxPendingChars = 1 << 20;

    readonly Channel<StepUpdate> channel = Channel.CreateUnbounded<StepUpdate>(new UnboundedChannelOptions { SingleWriter = true });
    long pending;

    /// <summary>Steps between canvases.</summary>
    public int Interval { get; } = interval;

    /// <summary>Placeholder for a masked token.</summary>
    public string MaskGlyph { get; } = maskGlyph;

    /// <summary>The updates, until the request completes.</summary>
    public async IAsyncEnumerable<StepUpdate> ReadAllAsync([System.Runtime.CompilerServices.EnumeratorCancellation] CancellationToken cancel)
    {
        await foreach (var update in channel.Reader.ReadAllAsync(cancel).ConfigureAwait(false))
        {
            Interlocked.Add(ref pending, -update.Text.Length);
            yield return update;
        }
    }

    /// <summary>Queues an update (never blocks), dropping the oldest pending ones past the limit.</summary>
    public void Post(StepUpdate update)
    {
        while (Interlocked.Read(ref pending) + update.Text.Length > MaxPendingChars && channel.Reader.TryRead(out var old))
            Interlocked.Add(ref pending, -old.Text.Length);
        Interlocked.Add(ref pending, update.Text.Length);
        channel.Writer.TryWrite(update);
    }

    /// <summary>No more updates.</summary>
    public void Complete() => channel.Writer.TryComplete();
}

/// <summary>
/// The observer of one batch: after every step it renders the canvases of streaming requests whose
/// interval is due and posts them to their streams. It runs on the generating thread, so it only copies
/// text out; requests that do not stream cost nothing here.
/// </summary>
sealed class BatchObserver(IReadOnlyList<JobPiece> pieces) : IGenerationObserver
{
    /// <summary>An observer for the batch, or null when no request in it streams.</summary>
    public static BatchObserver? For(IReadOnlyList<JobPiece> pieces) =>
        pieces.Any(p => p.Job.Stream != null) ? new BatchObserver(pieces) : null;

    /// <inheritdoc/>
    public void OnStep(GenerationSnapshot snapshot)
    {
        for (int i = 0; i < snapshot.Sequences; i++)
        {
            var piece = pieces[snapshot.PlanOf(i)];
            var stream = piece.Job.Stream;
            if (stream == null || piece.Job.Cancelled.IsCancellationRequested) continue;
            if (snapshot.Step % stream.Interval != 0 && snapshot.Step != snapshot.Steps) continue;
            var text = snapshot.RenderCompletion(i, stream.MaskGlyph);
            if (piece.Job.Request.Echo && piece.Job.Request.Kind == CompletionKind.Completion)
                text = piece.Job.Request.Texts[piece.Text] + text;
            stream.Post(new StepUpdate(piece.ChoiceOf(snapshot.SampleOf(i)), text, snapshot.Window, snapshot.Step, snapshot.Steps));
        }
    }
}
