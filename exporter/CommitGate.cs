namespace Sedd.Exporter;

/// <summary>
/// Cancellation with a point of no return. Until <see cref="Commit"/> has run, <see cref="Cancel"/>
/// cancels <see cref="Token"/> and the export stops, leaving everything as it was; once the commit has
/// run, the work is done and a late Ctrl+C changes nothing. The two are serialised, so a signal either
/// precedes the commit (which then does not happen) or finds it finished: "cancelled" (exit 130) always
/// means the old package is untouched, and exit 0 always means the new one is in place.
/// </summary>
public sealed class CommitGate : IDisposable
{
    readonly CancellationTokenSource source = new();
    readonly Lock gate = new();
    bool committed;

    /// <summary>Cancelled by <see cref="Cancel"/> before the commit.</summary>
    public CancellationToken Token => source.Token;

    /// <summary>Whether the commit has run.</summary>
    public bool IsCommitted
    {
        get { lock (gate) return committed; }
    }

    /// <summary>Cancels <see cref="Token"/> unless the commit has run; returns whether it did.</summary>
    public bool Cancel()
    {
        lock (gate)
        {
            if (committed) return false;
            source.Cancel();
            return true;
        }
    }

    /// <summary>
    /// Runs <paramref name="commit"/> (which must be short: a few renames) unless this gate or
    /// <paramref name="cancel"/> is cancelled, and marks the gate committed when it returns.
    /// </summary>
    /// <param name="cancel">A second token that also vetoes the commit.</param>
    /// <param name="commit">The step that makes the work visible.</param>
    public void Commit(CancellationToken cancel, Action commit)
    {
        ArgumentNullException.ThrowIfNull(commit);
        lock (gate)
        {
            source.Token.ThrowIfCancellationRequested();
            cancel.ThrowIfCancellationRequested();
            commit();
            committed = true;
        }
    }

    /// <inheritdoc />
    public void Dispose() => source.Dispose();
}
