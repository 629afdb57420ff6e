using System.Globalization;
using System.Text.RegularExpressions;
using Microsoft.ML.Tokenizers;

namespace Sedd.Runtime.Text;

/// <summary>
/// Byte-level GPT-2 BPE (full or truncated to its first N ranks, see <see cref="TokenizerSpec"/>)
/// with one EOS id after the real tokens. Text never produces EOS: a literal "&lt;|endoftext|&gt;" in
/// the data is encoded as ordinary bytes, so EOS only marks document ends (spec §7).
/// Instances are immutable and safe to share between threads.
/// </summary>
public sealed partial class SeddTokenizer
{
    /// <summary>What <see cref="Decode"/> writes for the EOS id.</summary>
    public const string EosText = "<|endoftext|>";

    readonly TiktokenTokenizer _bpe;

    SeddTokenizer(TokenizerSpec spec, TiktokenTokenizer bpe)
    {
        Spec = spec;
        _bpe = bpe;
    }

    /// <summary>The spec this tokenizer was built from.</summary>
    public TokenizerSpec Spec { get; }

    /// <summary>Real tokens including EOS (ids 0..VocabSize-1); the absorbing graph's mask is id VocabSize.</summary>
    public int VocabSize => Spec.VocabSize;

    /// <summary>End-of-sequence id, the last real id (<see cref="VocabSize"/> − 1).</summary>
    public int EosId => Spec.EosId;

    /// <summary>Builds the tokenizer for <paramref name="spec"/>.</summary>
    /// <param name="spec">Kind and number of ranks; see <see cref="TokenizerSpec.Parse"/>.</param>
    /// <exception cref="SeddException">Unsupported kind or rank count (exit code 1), or missing tokenizer data (exit code 3).</exception>
    public static SeddTokenizer Create(TokenizerSpec spec)
    {
        ArgumentNullException.ThrowIfNull(spec);
        if (spec.Kind != "gpt2" || spec.Ranks is < TokenizerSpec.MinRanks or > TokenizerSpec.Gpt2Ranks)
            throw new SeddException(
                $"Unsupported tokenizer {spec.Kind} with {spec.Ranks} ranks: expected gpt2 with 256..50256 ranks.", SeddException.Usage);
        using var vocab = Gpt2RankFile.OpenPrefix(spec.Ranks);
        // The pre-tokenizer gets no special tokens, so "<|endoftext|>" inside text stays bytes;
        // the tokenizer itself knows EOS so that Decode can print it (platform-notes §4).
        var pre = new RegexPreTokenizer(Gpt2PreTokenizerRegex(), specialTokens: null);
        var special = new Dictionary<string, int> { [EosText] = spec.EosId };
        var bpe = TiktokenTokenizer.Create(vocab, pre, normalizer: null, special);
        return new SeddTokenizer(spec, bpe);
    }

    /// <summary>Shorthand for <c>Create(TokenizerSpec.Parse(spec))</c>.</summary>
    /// <param name="spec">"gpt2" or "gpt2-N".</param>
    public static SeddTokenizer Create(string spec) => Create(TokenizerSpec.Parse(spec));

    /// <summary>
    /// Encodes text to ids in 0..VocabSize-2 (never EOS). The caller appends EOS after a document.
    /// </summary>
    /// <param name="text">Well-formed UTF-16 text.</param>
    /// <exception cref="SeddException">A lone surrogate (exit code 2): it would silently become U+FFFD.</exception>
    public int[] Encode(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        var bad = FindInvalidUtf16(text);
        if (bad >= 0)
            throw new SeddException(
                string.Create(CultureInfo.InvariantCulture,
                    $"Text is not valid UTF-16: lone surrogate U+{(int)text[bad]:X4} at char {bad}; expected paired surrogates only."),
                SeddException.BadInput);
        if (text.Length == 0)
            return [];
        var ids = _bpe.EncodeToIds(text, considerPreTokenization: true, considerNormalization: false);
        var result = new int[ids.Count];
        for (var i = 0; i < result.Length; i++)
            result[i] = ids[i];
        return result;
    }

    /// <summary>
    /// Decodes ids to text. EOS decodes to <see cref="EosText"/>; byte sequences that are not valid
    /// UTF-8 on their own (a cut inside a character) decode to U+FFFD.
    /// </summary>
    /// <param name="ids">Ids in 0..VocabSize-1.</param>
    /// <exception cref="SeddException">An id outside the vocabulary, e.g. the mask id (exit code 2).</exception>
    public string Decode(ReadOnlySpan<int> ids)
    {
        for (var i = 0; i < ids.Length; i++)
        {
            if ((uint)ids[i] >= (uint)VocabSize)
                throw new SeddException(
                    string.Create(CultureInfo.InvariantCulture,
                        $"Token id {ids[i]} at position {i} is outside the {Spec} vocabulary 0..{VocabSize - 1}."),
                    SeddException.BadInput);
        }
        if (ids.IsEmpty)
            return "";
        return _bpe.Decode(ids.ToArray());
    }

    /// <summary>Index of the first unpaired surrogate in <paramref name="s"/>, or −1.</summary>
    internal static int FindInvalidUtf16(ReadOnlySpan<char> s)
    {
        for (var i = 0; i < s.Length; i++)
        {
            var c = s[i];
            if (char.IsHighSurrogate(c))
            {
                if (i + 1 < s.Length && char.IsLowSurrogate(s[i + 1]))
                {
                    i++;
                    continue;
                }
                return i;
            }
            if (char.IsLowSurrogate(c))
                return i;
        }
        return -1;
    }

    // GPT-2's pre-tokenization pattern (encoder.py in openai/gpt-2), unchanged.
    [GeneratedRegex(@"'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+")]
    private static partial Regex Gpt2PreTokenizerRegex();
}
