namespace Sedd.Trainer.Training;

/// <summary>
/// Visits the training blocks in a fresh pseudo-random order every epoch. The order depends only on
/// (seed, epoch), so the position (epoch, cursor) stored in a checkpoint resumes the exact stream.
/// </summary>
public sealed class BlockSampler
{
    readonly int count;
    readonly ulong seed;
    int[] order = [];

    /// <summary>Current epoch.</summary>
    public long Epoch { get; private set; }

    /// <summary>Next index within the epoch's permutation.</summary>
    public long Cursor { get; private set; }

    /// <param name="blockCount">Number of blocks in the split.</param>
    /// <param name="seed">Run seed.</param>
    /// <param name="epoch">Resume position: epoch.</param>
    /// <param name="cursor">Resume position: index within the epoch.</param>
    public BlockSampler(int blockCount, long seed, long epoch = 0, long cursor = 0)
    {
        count = blockCount;
        this.seed = (ulong)seed;
        Epoch = epoch;
        Cursor = cursor;
        order = Permutation(count, this.seed, (ulong)epoch);
    }

    /// <summary>The next block index.</summary>
    public int Next()
    {
        if (Cursor >= count)
        {
            Epoch++;
            Cursor = 0;
            order = Permutation(count, seed, (ulong)Epoch);
        }
        return order[Cursor++];
    }

    /// <summary>Fisher–Yates over splitmix64 (stable across .NET versions, unlike System.Random).</summary>
    static int[] Permutation(int n, ulong seed, ulong epoch)
    {
        var p = new int[n];
        for (int i = 0; i < n; i++) p[i] = i;
        ulong state = seed * 0x9E3779B97F4A7C15UL ^ (epoch + 0x632BE59BD9B4E019UL);
        for (int i = n - 1; i > 0; i--)
        {
            int j = (int)(SplitMix64(ref state) % (ulong)(i + 1));
            (p[i], p[j]) = (p[j], p[i]);
        }
        return p;
    }

    static ulong SplitMix64(ref ulong state)
    {
        ulong z = state += 0x9E3779B97F4A7C15UL;
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9UL;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EBUL;
        return z ^ (z >> 31);
    }
}
