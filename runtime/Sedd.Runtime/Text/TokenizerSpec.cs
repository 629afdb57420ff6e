using System.Globalization;

namespace Sedd.Runtime.Text;

/// <summary>
/// Which tokenizer a model uses, as written in configs, <c>meta.json</c> and model metadata.
/// Two forms are accepted:
/// <list type="bullet">
/// <item><c>gpt2</c>: the full GPT-2 byte-level BPE, ids 0..50255 plus EOS 50256 (the paper's, spec §7).</item>
/// <item><c>gpt2-N</c>: GPT-2's BPE truncated to its first N merge ranks (256 ≤ N ≤ 50256), ids 0..N-1 plus
/// EOS = N. Ranks 0..255 are the 256 single bytes and every later rank splits into two lower ranks, so
/// every prefix is a closed, lossless byte-level BPE (platform-notes §4).</item>
/// </list>
/// </summary>
/// <param name="Kind">Tokenizer family; only <c>gpt2</c> exists today.</param>
/// <param name="Ranks">Number of BPE ranks kept (ids 0..Ranks-1); EOS is id <paramref name="Ranks"/>.</param>
public sealed record TokenizerSpec(string Kind, int Ranks)
{
    /// <summary>Number of ranks in the full GPT-2 BPE (ids 0..50255; 50256 is EOS).</summary>
    public const int Gpt2Ranks = 50256;

    /// <summary>Fewest ranks a truncated GPT-2 BPE may keep: the 256 single bytes.</summary>
    public const int MinRanks = 256;

    const string Accepted = "expected 'gpt2' or 'gpt2-N' with N in 256..50256 (e.g. 'gpt2-4096')";

    /// <summary>The tokenizer the paper uses: full GPT-2, vocabulary 50257.</summary>
    public static TokenizerSpec Gpt2 { get; } = new("gpt2", Gpt2Ranks);

    /// <summary>Id of the end-of-sequence token, appended after every document (spec §7).</summary>
    public int EosId => Ranks;

    /// <summary>Real tokens including EOS; the absorbing graph puts its mask at this index.</summary>
    public int VocabSize => Ranks + 1;

    /// <summary>
    /// Parses <c>gpt2</c> or <c>gpt2-N</c> (case-insensitive, surrounding spaces ignored).
    /// </summary>
    /// <param name="text">The spec string, e.g. from <c>--tokenizer</c>.</param>
    /// <exception cref="SeddException">Unknown kind or N out of range (exit code 1).</exception>
    public static TokenizerSpec Parse(string? text)
    {
        var s = (text ?? "").Trim().ToLowerInvariant();
        if (s == "gpt2")
            return Gpt2;
        if (s.StartsWith("gpt2-", StringComparison.Ordinal)
            && int.TryParse(s.AsSpan(5), NumberStyles.None, CultureInfo.InvariantCulture, out var n))
        {
            if (n is < MinRanks or > Gpt2Ranks)
                throw new SeddException($"Tokenizer '{text}': {Accepted}; N = {n} is out of range.", SeddException.Usage);
            return n == Gpt2Ranks ? Gpt2 : new TokenizerSpec("gpt2", n);
        }
        throw new SeddException($"Unknown tokenizer '{text}': {Accepted}.", SeddException.Usage);
    }

    /// <summary>The canonical string form: <c>gpt2</c> or <c>gpt2-N</c>; <see cref="Parse"/> reads it back.</summary>
    public override string ToString() =>
        Ranks == Gpt2Ranks ? Kind : string.Create(CultureInfo.InvariantCulture, $"{Kind}-{Ranks}");
}
