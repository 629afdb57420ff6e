using System.Threading.Channels;
using Sedd.Runtime.Generation;

namespace Sedd.Cli.Serve;

/// <summary>One streamed canvas: the whole current completion of one choice, masks as a placeholder.</summary>
readonly record struct StepUpdate(int Choice, string Text, int Window, int Step, int Steps);

/// <summary>
/// The step canvases of one streaming request, from the generating thread to the response writer. The
/// generator never waits for a slow client: each update is a whole canvas, so when the writer falls
/// behind the oldest pending ones are dropped and the client simply sees fewer, newer canvases.
/// </summary>
sealed class StepStream(int choices, int interval, string maskGlyph)
{
    readonly Channel<StepUpdate> channel = Channel.CreateBounded<StepUpdate>(
        new BoundedChannelOptions(Math.Max(16, 4 * choices)) { FullMode = BoundedChannelFullMode.DropOldest, SingleReader = true, SingleWriter = true });

    /// <summary>Steps between canvases.</summary>
    public int Interval { get; } = interval;

    /// <summary>Placeholder for a masked token.</summary>
    public string MaskGlyph { get; } = maskGlyph;

    /// <summary>The updates, until the request completes.</summary>
    public ChannelReader<StepUpdate> Reader => channel.Reader;

    /// <summary>Queues an update (never blocks).</summary>
    public void Post(StepUpdate update) => channel.Writer.TryWrite(update);

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
