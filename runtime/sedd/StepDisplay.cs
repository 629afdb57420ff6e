using System.Text;
using Sedd.Runtime.Text;

namespace Sedd.Cli;

/// <summary>
/// What the user sees while sampling. <c>--show-steps</c> on a terminal redraws the first sample's
/// canvas after every step, masks as '░', so masks can be watched turning into words; otherwise, when
/// stderr is a terminal, one progress line on stderr. Redirected streams get nothing (the output must
/// stay clean for pipes and files).
/// </summary>
sealed class StepDisplay : IDisposable
{
    const char MaskGlyph = '░';
    readonly SeddTokenizer tokenizer;
    readonly int? mask;
    readonly int length;
    readonly bool animate;
    readonly bool progress;
    readonly int total;
    int drawnLines;
    bool progressShown;

    public StepDisplay(SeddTokenizer tokenizer, int? mask, int length, bool showSteps, int total)
    {
        this.tokenizer = tokenizer;
        this.mask = mask;
        this.length = length;
        this.total = total;
        animate = showSteps && !Console.IsOutputRedirected;
        progress = !animate && !Console.IsErrorRedirected;
    }

    /// <summary>After step <paramref name="step"/> of <c>total</c>; <paramref name="first"/> is the first sample.</summary>
    public void Step(int step, ReadOnlySpan<long> first)
    {
        if (animate)
        {
            var text = Render(first) + $"\n[step {step}/{total}]";
            var sb = new StringBuilder();
            if (drawnLines > 0) sb.Append($"\x1b[{drawnLines}F");
            sb.Append("\x1b[J").Append(text).Append('\n');
            Console.Out.Write(sb.ToString());
            drawnLines = CountLines(text);
        }
        else if (progress)
        {
            Console.Error.Write($"\rsampling: step {step}/{total}");
            progressShown = true;
        }
    }

    /// <summary>Clears the progress line before the results are printed.</summary>
    public void Finish()
    {
        if (progressShown) Console.Error.Write("\r\x1b[K");
        progressShown = false;
        if (animate) Console.Out.WriteLine();
    }

    public void Dispose() => Finish();

    string Render(ReadOnlySpan<long> tokens)
    {
        var sb = new StringBuilder();
        var run = new List<int>();
        for (int i = 0; i < length; i++)
        {
            if (mask is int m && tokens[i] == m)
            {
                Flush();
                sb.Append(MaskGlyph);
            }
            else run.Add((int)tokens[i]);
        }
        Flush();
        return sb.ToString();

        void Flush()
        {
            if (run.Count == 0) return;
            sb.Append(tokenizer.Decode(run.ToArray()));
            run.Clear();
        }
    }

    // Terminal lines the text occupies, wrapping at the window width.
    static int CountLines(string text)
    {
        int width = 80;
        try { if (Console.WindowWidth > 0) width = Console.WindowWidth; }
        catch (IOException) { }
        int lines = 0;
        foreach (var line in text.Split('\n')) lines += Math.Max(1, (line.Length + width - 1) / width);
        return lines;
    }
}
