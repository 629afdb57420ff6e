using Sedd.Runtime;
using Sedd.Runtime.IO;

namespace Sedd.Evidence;

/// <summary>
/// The README's evidence block: everything between <see cref="Begin"/> and <see cref="End"/> is
/// replaced. When the markers are missing they are inserted at the end of the "Results so far"
/// section (before the next level-2 heading), else at the end of the file.
/// </summary>
static class ReadmeBlock
{
    /// <summary>Opening marker.</summary>
    public const string Begin = "<!-- evidence:begin -->";

    /// <summary>Closing marker.</summary>
    public const string End = "<!-- evidence:end -->";

    const string Section = "## Results so far";

    /// <summary>Returns <paramref name="readme"/> with the block set to <paramref name="content"/>.</summary>
    public static string Replace(string readme, string content)
    {
        ArgumentNullException.ThrowIfNull(readme);
        ArgumentNullException.ThrowIfNull(content);
        string nl = readme.Contains("\r\n", StringComparison.Ordinal) ? "\r\n" : "\n";
        string block = Begin + nl + content.ReplaceLineEndings(nl).TrimEnd() + nl + End;
        int begin = readme.IndexOf(Begin, StringComparison.Ordinal);
        int end = readme.IndexOf(End, StringComparison.Ordinal);
        if (begin >= 0 && end > begin) return string.Concat(readme.AsSpan(0, begin), block, readme.AsSpan(end + End.Length));
        if (begin >= 0 || end >= 0)
            throw new SeddException($"the README has only one of the markers {Begin} and {End} (or they are out of order); fix them by hand", SeddException.BadInput);
        int section = readme.IndexOf(Section, StringComparison.Ordinal);
        int insert = readme.Length;
        if (section >= 0)
        {
            int next = readme.IndexOf(nl + "## ", section + Section.Length, StringComparison.Ordinal);
            if (next >= 0) insert = next + nl.Length;
        }
        var before = readme[..insert].TrimEnd('\r', '\n');
        var after = readme[insert..];
        return before + nl + nl + block + nl + (after.Length > 0 ? nl + after : "");
    }

    /// <summary>Rewrites the block of the README file at <paramref name="path"/>.</summary>
    public static void Update(string path, string content)
    {
        if (!File.Exists(path)) throw new SeddException($"README {path} not found (pass --readme '' to skip it)", SeddException.BadInput);
        AtomicFile.WriteAllText(path, Replace(File.ReadAllText(path), content));
    }
}
