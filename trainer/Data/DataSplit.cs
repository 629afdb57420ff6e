namespace Sedd.Trainer.Data;

/// <summary>The three disjoint parts of a prepared corpus; each is one <c>&lt;name&gt;.bin</c> file.</summary>
public enum DataSplit
{
    /// <summary>Training documents (about 90 %).</summary>
    Train,

    /// <summary>Validation documents (about 5 %): periodic eval loss.</summary>
    Valid,

    /// <summary>Test documents (about 5 %): final perplexity bound.</summary>
    Test,
}

/// <summary>File and JSON names of <see cref="DataSplit"/>.</summary>
public static class DataSplits
{
    /// <summary>All splits in file order.</summary>
    public static IReadOnlyList<DataSplit> All { get; } = [DataSplit.Train, DataSplit.Valid, DataSplit.Test];

    /// <summary>"train", "valid" or "test".</summary>
    /// <param name="split">The split.</param>
    public static string Name(this DataSplit split) => split switch
    {
        DataSplit.Train => "train",
        DataSplit.Valid => "valid",
        DataSplit.Test => "test",
        _ => throw new ArgumentOutOfRangeException(nameof(split), split, null),
    };

    /// <summary>The token file of a split: <c>train.bin</c>, <c>valid.bin</c>, <c>test.bin</c>.</summary>
    /// <param name="split">The split.</param>
    public static string FileName(this DataSplit split) => split.Name() + ".bin";

    /// <summary>Parses "train", "valid" (or "validation") or "test".</summary>
    /// <param name="name">Split name, case-insensitive.</param>
    /// <exception cref="Sedd.Runtime.SeddException">Any other name (exit code 1).</exception>
    public static DataSplit Parse(string name) => (name ?? "").Trim().ToLowerInvariant() switch
    {
        "train" => DataSplit.Train,
        "valid" or "validation" => DataSplit.Valid,
        "test" => DataSplit.Test,
        _ => throw new Sedd.Runtime.SeddException($"Unknown split '{name}': expected train, valid or test.", Sedd.Runtime.SeddException.Usage),
    };
}
