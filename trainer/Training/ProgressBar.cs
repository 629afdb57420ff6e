using System.Diagnostics;
using System.Globalization;

namespace Sedd.Trainer.Training;

/// <summary>
/// A one-line live bar on a terminal; plain lines every <c>log_every</c> steps when output is
/// redirected (CI, nohup), so logs stay readable. The loss it shows is labelled for what it is: the
/// loss of the step just run ("this step"; one batch, noisy) and, on logged steps, the mean over the
/// steps since the last log line — the value metrics.jsonl and loss.png hold. In a run limited by
/// time (<c>training.max_seconds</c>) whose step target lies beyond the time budget, the counter shows
/// the time used of the budget instead of a step target that will not be reached.
/// </summary>
/// <param name="firstStep">First step this process runs.</param>
/// <param name="lastStep">Step target of the run.</param>
/// <param name="plainEvery">Steps between plain lines (<c>training.log_every</c>).</param>
/// <param name="output">Where lines go.</param>
/// <param name="maxSeconds">Time budget of this process (0 = none).</param>
public sealed class ProgressBar(long firstStep, long lastStep, int plainEvery, TextWriter output, double maxSeconds = 0)
{
    readonly bool live = !Console.IsOutputRedirected && output == Console.Out;
    readonly Stopwatch clock = Stopwatch.StartNew();
    long lastDrawMs = -1000;

    /// <summary>Reports a finished step.</summary>
    /// <param name="step">Step just completed.</param>
    /// <param name="stepLoss">Its loss (nats per token).</param>
    /// <param name="logged">On a logged step: the mean loss over the steps since the last log line and their number (what metrics.jsonl records); else null.</param>
    /// <param name="tokensPerSecond">Recent training throughput.</param>
    public void Report(long step, double stepLoss, (double Mean, int Steps)? logged, double tokensPerSecond)
    {
        var (counter, fraction, eta) = Progress(step, clock.Elapsed.TotalSeconds);
        var c = CultureInfo.InvariantCulture;
        if (live)
        {
            if (clock.ElapsedMilliseconds - lastDrawMs < 200 && step != lastStep) return;
            lastDrawMs = clock.ElapsedMilliseconds;
            const int width = 30;
            int filled = (int)Math.Clamp(width * fraction, 0, width);
            output.Write(string.Create(c, $"\r[{new string('#', filled)}{new string('.', width - filled)}] {counter} loss {stepLoss:F4} (this step) {tokensPerSecond:F0} tok/s ETA {Format(eta)}   "));
            if (step == lastStep) output.WriteLine();
        }
        else if (logged is { } window && (step % plainEvery == 0 || step == lastStep))
            output.WriteLine(string.Create(c, $"{counter}: loss {stepLoss:F4} nats/token this step, {window.Mean:F4} mean of the last {window.Steps} steps (as in metrics.jsonl); {tokensPerSecond:F0} tok/s, ETA {Format(eta)}"));
    }

    /// <summary>
    /// The counter text, the bar's fill and the time left. Steps count from 1 to <c>lastStep</c>; when a
    /// time budget will stop the run first, progress is the budget's share used.
    /// </summary>
    internal (string Counter, double Fraction, double EtaSeconds) Progress(long step, double elapsed)
    {
        double done = step - firstStep + 1, total = lastStep - firstStep + 1;
        double stepEta = done > 0 ? elapsed / done * (total - done) : 0;
        double budgetLeft = Math.Max(0, maxSeconds - elapsed);
        if (maxSeconds > 0 && stepEta > budgetLeft)
            return (string.Create(CultureInfo.InvariantCulture, $"step {step} ({Format(elapsed)} of {Format(maxSeconds)})"), elapsed / maxSeconds, budgetLeft);
        return (string.Create(CultureInfo.InvariantCulture, $"step {step}/{lastStep}"), (double)step / lastStep, stepEta);
    }

    /// <summary>Prints a message on its own line without breaking the bar.</summary>
    /// <param name="message">Text.</param>
    public void Line(string message)
    {
        if (live) output.Write("\r" + new string(' ', 110) + "\r");
        output.WriteLine(message);
    }

    static string Format(double seconds) => seconds switch
    {
        >= 3600 => (seconds / 3600).ToString("F1", CultureInfo.InvariantCulture) + "h",
        >= 60 => (seconds / 60).ToString("F1", CultureInfo.InvariantCulture) + "m",
        _ => seconds.ToString("F0", CultureInfo.InvariantCulture) + "s",
    };
}
