namespace Sedd.Runtime.Sampling;

/// <summary>
/// Conditioning by projection (spec §6.6): writes fixed token ids at fixed positions of every
/// sequence, x[:, positions] = ids. The sampler applies it before every predictor call, before the
/// denoiser and once more on the returned sequence, so the model sees the fixed tokens as clean
/// tokens from the first step on. Prefix prompting fixes positions 0 … P−1; infilling also fixes a
/// suffix; any set of distinct positions works.
/// </summary>
public sealed class InfillProjector
{
    readonly int[] positions;
    readonly long[] ids;

    /// <summary>No conditioning (the reference's identity projector).</summary>
    public static InfillProjector None { get; } = new([], []);

    /// <summary>Fixes <paramref name="ids"/>[k] at position <paramref name="positions"/>[k].</summary>
    /// <param name="positions">Distinct positions, each in [0, L) (checked by the sampler, which knows L).</param>
    /// <param name="ids">Token ids, one per position.</param>
    public InfillProjector(ReadOnlySpan<int> positions, ReadOnlySpan<long> ids)
    {
        if (positions.Length != ids.Length)
            throw new SeddException($"conditioning needs one token per fixed position: {positions.Length} positions, {ids.Length} tokens", SeddException.Usage);
        var seen = new HashSet<int>();
        foreach (int p in positions)
            if (p < 0 || !seen.Add(p))
                throw new SeddException($"conditioning positions must be distinct and ≥ 0; position {p} is not", SeddException.Usage);
        this.positions = positions.ToArray();
        this.ids = ids.ToArray();
    }

    /// <summary>A prompt: <paramref name="ids"/> at positions 0 … ids.Length − 1.</summary>
    /// <param name="ids">Prompt tokens.</param>
    public static InfillProjector Prefix(ReadOnlySpan<long> ids)
    {
        var p = new int[ids.Length];
        for (int i = 0; i < p.Length; i++) p[i] = i;
        return new InfillProjector(p, ids);
    }

    /// <summary>
    /// A prompt and a suffix (spec §6.6, run_sample_cond.py): <paramref name="prefix"/> at 0 … P−1 and
    /// <paramref name="suffix"/> at L−S … L−1. At least one position must remain free.
    /// </summary>
    /// <param name="prefix">Prompt tokens.</param>
    /// <param name="suffix">Suffix tokens.</param>
    /// <param name="length">Sequence length L.</param>
    public static InfillProjector Affix(ReadOnlySpan<long> prefix, ReadOnlySpan<long> suffix, int length)
    {
        if (prefix.Length + suffix.Length >= length)
            throw new SeddException($"the prompt ({prefix.Length} tokens) and suffix ({suffix.Length} tokens) leave no position to generate in a sequence of {length} tokens; raise --length or shorten them", SeddException.Usage);
        var p = new int[prefix.Length + suffix.Length];
        var ids = new long[p.Length];
        for (int i = 0; i < prefix.Length; i++) (p[i], ids[i]) = (i, prefix[i]);
        for (int i = 0; i < suffix.Length; i++) (p[prefix.Length + i], ids[prefix.Length + i]) = (length - suffix.Length + i, suffix[i]);
        return new InfillProjector(p, ids);
    }

    /// <summary>Fixed positions.</summary>
    public ReadOnlySpan<int> Positions => positions;

    /// <summary>Fixed token ids, parallel to <see cref="Positions"/>.</summary>
    public ReadOnlySpan<long> Ids => ids;

    /// <summary>Number of fixed positions.</summary>
    public int Count => positions.Length;

    /// <summary>Checks every position against the sequence length and every id against the graph.</summary>
    /// <param name="length">Sequence length L.</param>
    /// <param name="graph">Graph whose <see cref="SamplingGraph.Tokens"/> bounds the ids.</param>
    public void Validate(int length, SamplingGraph graph)
    {
        ArgumentNullException.ThrowIfNull(graph);
        for (int k = 0; k < positions.Length; k++)
        {
            if (positions[k] >= length)
                throw new SeddException($"conditioning position {positions[k]} is outside the sequence (length {length})", SeddException.Usage);
            if (ids[k] < 0 || ids[k] >= graph.Tokens)
                throw new SeddException($"conditioning token {ids[k]} at position {positions[k]} is not a token of the model (0 … {graph.Tokens - 1})", SeddException.Usage);
        }
    }

    /// <summary>x[:, positions] = ids for every sequence of a row-major [B, L] batch.</summary>
    /// <param name="tokens">Batch of B sequences of length <paramref name="length"/>.</param>
    /// <param name="length">Sequence length L.</param>
    public void Apply(Span<long> tokens, int length)
    {
        for (int start = 0; start + length <= tokens.Length; start += length)
        {
            var seq = tokens.Slice(start, length);
            for (int k = 0; k < positions.Length; k++) seq[positions[k]] = ids[k];
        }
    }
}
