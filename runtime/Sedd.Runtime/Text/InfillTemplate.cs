using System.Globalization;
using System.Text.RegularExpressions;
using Sedd.Runtime.Sampling;

namespace Sedd.Runtime.Text;

/// <summary>
/// An infilling template (issue 4 point 5): fixed text with blanks, <c>[MASK:n]</c> for n generated
/// tokens and <c>[MASK]</c> for one, e.g. <c>The [MASK:5] sat on the [MASK:2].</c>. Each stretch of
/// fixed text is tokenized on its own (a blank ends a word) and becomes fixed positions; blanks become
/// free positions (spec §6.6). The canvas is exactly as long as the template's tokens.
/// </summary>
public sealed partial class InfillTemplate
{
    InfillTemplate(long[] canvas, int blanks)
    {
        Canvas = canvas;
        Blanks = blanks;
    }

    /// <summary>Marks a free position in <see cref="Canvas"/>.</summary>
    public const long Blank = -1;

    /// <summary>Token per position: a fixed id, or <see cref="Blank"/>.</summary>
    public IReadOnlyList<long> Canvas { get; }

    /// <summary>Positions to generate.</summary>
    public int Blanks { get; }

    /// <summary>Canvas length (fixed tokens plus blanks).</summary>
    public int Length => Canvas.Count;

    /// <summary>Parses and tokenizes a template.</summary>
    /// <param name="template">Template text.</param>
    /// <param name="tokenizer">The model's tokenizer.</param>
    /// <param name="maxLength">The model's block length; a longer canvas is refused.</param>
    /// <exception cref="SeddException">No blank, a bad blank count, a lone surrogate, or a canvas longer than the model (exit 1 or 2).</exception>
    public static InfillTemplate Parse(string template, SeddTokenizer tokenizer, int maxLength)
    {
        ArgumentNullException.ThrowIfNull(template);
        ArgumentNullException.ThrowIfNull(tokenizer);
        var canvas = new List<long>();
        int blanks = 0, at = 0;
        foreach (Match m in BlankPattern().Matches(template))
        {
            AddText(template[at..m.Index]);
            int n = 1;
            if (m.Groups[1].Success && (!int.TryParse(m.Groups[1].Value, NumberStyles.None, CultureInfo.InvariantCulture, out n) || n < 1 || n > maxLength))
                throw new SeddException($"template blank {m.Value} must ask for 1 … {maxLength} tokens", SeddException.Usage);
            for (int i = 0; i < n; i++) canvas.Add(Blank);
            blanks += n;
            at = m.Index + m.Length;
        }
        AddText(template[at..]);
        if (blanks == 0)
            throw new SeddException("the template has no blank: write [MASK] for one generated token or [MASK:n] for n, e.g. \"The [MASK:5] sat on the [MASK:2].\"", SeddException.Usage);
        if (canvas.Count > maxLength)
            throw new SeddException($"the template is {canvas.Count} tokens long ({canvas.Count - blanks} fixed + {blanks} blank), more than the model's {maxLength}", SeddException.Usage);
        return new InfillTemplate([.. canvas], blanks);

        void AddText(string text)
        {
            foreach (int id in tokenizer.Encode(text)) canvas.Add(id);
        }
    }

    /// <summary>The projector that fixes every non-blank position (spec §6.6).</summary>
    public InfillProjector CreateProjector()
    {
        var positions = new List<int>();
        var ids = new List<long>();
        for (int i = 0; i < Canvas.Count; i++)
            if (Canvas[i] != Blank) { positions.Add(i); ids.Add(Canvas[i]); }
        return new InfillProjector([.. positions], [.. ids]);
    }

    [GeneratedRegex(@"\[MASK(?::([^\]]*))?\]")]
    private static partial Regex BlankPattern();
}
