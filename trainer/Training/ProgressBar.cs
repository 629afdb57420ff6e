using System.Diagnostics;

namespace Sedd.Trainer.Training;

/// <summary>
/// A one-line live bar (step, loss, tokens/s, ETA) on a terminal; plain lines every
/// <c>log_every</c> steps when output is redirected (CI, nohup), so logs stay readable.
/// </summary>
public sealed class ProgressBar(long firstStep, long lastStep, int plainEvery, TextWriter output, double maxSeconds = 0)
{
    readonly bool live = !Console.IsOutputRedirected && output == Console.Out;
    readonly Stopwatch clock = Stopwatch.StartNew();
    long lastDrawMs = -1000;

    /// <summary>Reports a finished step.</summary>
    /// <param name="step">Step just completed.</param>
    /// <param name="loss">Its loss (nats per token).</param>
    /// <param name="tokensPerSecond">Recent training throughput.</param>
    public void Report(long step, double loss, double tokensPerSecond)
    {
        double done = step - firstStep + 1, total = lastStep - firstStep + 1;
        double eta = done > 0 ? clock.Elapsed.TotalSeconds / done * (total - done) : 0;
        if (maxSeconds > 0) eta = Math.Min(eta, Math.Max(0, maxSeconds - clock.Elapsed.TotalSeconds)); // training.max_seconds stops it first
        if (live)
        {
            if (clock.ElapsedMilliseconds - lastDrawMs < 200 && step != lastStep) return;
            lastDrawMs = clock.ElapsedMilliseconds;
            const int width = 30;
            int filled = (int)(width * (double)step / lastStep);
            output.Write($"\r[{new string('#', filled)}{new string('.', width - filled)}] step {step}/{lastStep} loss {loss:F4} {tokensPerSecond:F0} tok/s ETA {Format(eta)}   ");
            if (step == lastStep) output.WriteLine();
        }
        else if (step % plainEvery == 0 || step == lastStep)
            output.WriteLine($"step {step}/{lastStep} loss {loss:F4} nats/token, {tokensPerSecond:F0} tok/s, ETA {Format(eta)}");
    }

    /// <summary>Prints a message on its own line without breaking the bar.</summary>
    /// <param name="message">Text.</param>
    public void Line(string message)
    {
        if (live) output.Write("\r" + new string(' ', 100) + "\r");
        output.WriteLine(message);
    }

    static string Format(double seconds) =>
        seconds >= 3600 ? $"{seconds / 3600:F1}h" : seconds >= 60 ? $"{seconds / 60:F1}m" : $"{seconds:F0}s";
}
