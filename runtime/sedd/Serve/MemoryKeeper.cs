using System.Runtime;

namespace Sedd.Cli.Serve;

/// <summary>
/// Keeps the server's resident memory steady under load. Every batch allocates its sampler's buffers
/// anew — megabytes on the large-object heap ([batch, length, states] log-scores) — and on a machine with
/// plenty of free memory the GC lets that garbage pile up to gigabytes before a full collection (the
/// resident size of a loaded server swung between 0.3 and 1.4 GB over 2,000 requests). After a batch,
/// once <see cref="Threshold"/> bytes have been allocated since the last full collection — or any at all
/// when no request is waiting — this one collects (compacting the large-object heap), so the server stays
/// near its working size and an idle server holds no garbage. The live heap is small, so a collection
/// takes milliseconds against batches of a hundred or more.
/// </summary>
sealed class MemoryKeeper
{
    /// <summary>Allocation between full collections: 16 MB, about two batches of 8 on the default model.</summary>
    public const long Threshold = 16L << 20;

    long allocatedAtLast = GC.GetTotalAllocatedBytes();
    int fullCollections = GC.CollectionCount(2);

    /// <summary>Allocation that an idle server collects: 1 MB.</summary>
    public const long IdleThreshold = 1L << 20;

    /// <summary>Collects if the batches since the last full collection allocated more than <see cref="Threshold"/> (<see cref="IdleThreshold"/> when <paramref name="idle"/>).</summary>
    /// <param name="idle">No request is waiting for the next batch.</param>
    public void AfterBatch(bool idle)
    {
        long allocated = GC.GetTotalAllocatedBytes();
        if (GC.CollectionCount(2) != fullCollections)
        {
            // The GC ran one of its own: count from there.
            fullCollections = GC.CollectionCount(2);
            allocatedAtLast = allocated;
            return;
        }
        if (allocated - allocatedAtLast < (idle ? IdleThreshold : Threshold)) return;
        GCSettings.LargeObjectHeapCompactionMode = GCLargeObjectHeapCompactionMode.CompactOnce;
        GC.Collect(2, GCCollectionMode.Forced, blocking: true, compacting: true);
        fullCollections = GC.CollectionCount(2);
        allocatedAtLast = GC.GetTotalAllocatedBytes();
    }
}
