namespace Sedd.Runtime;

/// <summary>Checks a user's thread count: 0 means one per core, and more than a few per core is refused.</summary>
public static class ThreadCount
{
    /// <summary>Most threads accepted per logical core (oversubscription beyond this only slows a run down).</summary>
    public const int PerCoreLimit = 4;

    /// <summary>The largest thread count accepted on this machine.</summary>
    public static int Max => Math.Max(1, Environment.ProcessorCount) * PerCoreLimit;

    /// <summary>Returns <paramref name="requested"/> (0 = all cores) or throws a usage error naming <paramref name="option"/>.</summary>
    /// <param name="requested">The value given.</param>
    /// <param name="option">E.g. "--threads" or "training.threads".</param>
    public static int Check(int requested, string option)
    {
        if (requested < 0)
            throw new SeddException($"{option} must be ≥ 0 (0 = one per core), got {requested}", SeddException.Usage);
        if (requested > Max)
            throw new SeddException($"{option} {requested} is more than {PerCoreLimit} per core of this machine's {Environment.ProcessorCount} cores (at most {Max}; 0 = one per core)", SeddException.Usage);
        return requested;
    }

    /// <summary>The thread count to use: <paramref name="requested"/>, or the core count for 0.</summary>
    /// <param name="requested">A checked value.</param>
    public static int Resolve(int requested) => requested == 0 ? Math.Max(1, Environment.ProcessorCount) : requested;
}
