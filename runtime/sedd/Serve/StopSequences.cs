namespace Sedd.Cli.Serve;

/// <summary>
/// OpenAI's <c>stop</c>: a completion ends just before the first occurrence of any stop string. A
/// diffusion model writes every position at once, so the cut is made on the finished text (the tokens
/// after it were generated but are not returned); the finish reason becomes "stop".
/// </summary>
static class StopSequences
{
    /// <summary>The text up to the earliest stop string, and whether one occurred.</summary>
    public static (string Text, bool Stopped) Apply(string text, IReadOnlyList<string> stops)
    {
        int cut = -1;
        foreach (var s in stops)
        {
            int at = text.IndexOf(s, StringComparison.Ordinal);
            if (at >= 0 && (cut < 0 || at < cut)) cut = at;
        }
        return cut < 0 ? (text, false) : (text[..cut], true);
    }
}
