using System.Text;

namespace Sedd.Runtime;

/// <summary>
/// Makes text from files, models or users safe to print: control characters (C0 but tab and newline,
/// DEL, C1), which a terminal would obey as escape sequences, become visible escapes such as
/// <c>\x1b</c>, and the bidirectional overrides that can reorder what a reader sees become <c>\u202e</c>
/// and the like. Everything else, including any printable Unicode, is unchanged.
/// </summary>
public static class TerminalText
{
    /// <summary>The text with every unsafe character replaced by a visible escape.</summary>
    /// <param name="text">Any text.</param>
    /// <param name="keepNewlines">Keep '\n' (and tab) as they are; false escapes them too (one-line messages).</param>
    public static string Neutralise(string? text, bool keepNewlines = true)
    {
        if (string.IsNullOrEmpty(text)) return text ?? "";
        int i = 0;
        while (i < text.Length && IsSafe(text[i], keepNewlines)) i++;
        if (i == text.Length) return text;
        var sb = new StringBuilder(text.Length + 16);
        sb.Append(text, 0, i);
        for (; i < text.Length; i++)
        {
            char c = text[i];
            if (IsSafe(c, keepNewlines)) sb.Append(c);
            else if (c <= 0xFF) sb.Append("\\x").Append(((int)c).ToString("x2", System.Globalization.CultureInfo.InvariantCulture));
            else sb.Append("\\u").Append(((int)c).ToString("x4", System.Globalization.CultureInfo.InvariantCulture));
        }
        return sb.ToString();
    }

    /// <summary>Whether <paramref name="text"/> would print unchanged.</summary>
    /// <param name="text">Any text.</param>
    public static bool IsSafe(string text)
    {
        foreach (char c in text) if (!IsSafe(c, true)) return false;
        return true;
    }

    static bool IsSafe(char c, bool keepNewlines) => c switch
    {
        '\n' or '\t' => keepNewlines,
        < ' ' => false,
        >= '\u007f' and <= '\u009f' => false,
        // Bidirectional embeddings, overrides and isolates (the "Trojan Source" characters).
        >= '\u202a' and <= '\u202e' => false,
        >= '\u2066' and <= '\u2069' => false,
        _ => true,
    };
}
