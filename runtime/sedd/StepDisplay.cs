using System.Text;
using Sedd.Runtime;
using Sedd.Runtime.Generation;

namespace Sedd.Cli;

/// <summary>
/// What the user sees while sampling. <c>--show-steps</c> on a terminal redraws the first sample's text
/// after every step (masks as '░'; long texts show the window being written after the text so far);
/// otherwise, when stderr is a terminal, one progress line on stderr. Redirected streams get nothing
/// (the output must stay clean for pipes and files).
/// </summary>
sealed class StepDisplay : IGenerationObserver, IDisposable
{
    readonly bool animate;
    readonly bool progress;
    readonly int windows;
    int drawnLines;
    bool progressShown;

    public StepDisplay(bool showSteps, GenerationPlan plan)
    {
        animate = showSteps && !Console.IsOutputRedirected;
        progress = !animate && !Console.IsErrorRedirected;
        windows = plan.PlannedWindows;
    }

    public void OnStep(GenerationSnapshot snapshot)
    {
        if (!animate && !progress) return;
        var where = windows > 1 ? $"window {snapshot.Window + 1}/{windows}, " : "";
        var stage = snapshot.Step == snapshot.Steps && snapshot.Steps > 1 ? "final step" : $"step {snapshot.Step}/{snapshot.Steps}";
        if (animate)
        {
            var text = TerminalText.Neutralise(snapshot.RenderText(0)) + $"\n[{where}{stage}]";
            var sb = new StringBuilder();
            if (drawnLines > 0) sb.Append($"\x1b[{drawnLines}F");
            sb.Append("\x1b[J").Append(text).Append('\n');
            Console.Out.Write(sb.ToString());
            drawnLines = CountLines(text);
        }
        else
        {
            Console.Error.Write($"\r\x1b[Ksampling: {where}{stage}");
            progressShown = true;
        }
    }

    /// <summary>Clears the progress line before the results are printed.</summary>
    public void Dispose()
    {
        if (progressShown) Console.Error.Write("\r\x1b[K");
        progressShown = false;
        if (animate && drawnLines > 0) Console.Out.WriteLine();
        drawnLines = 0;
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
