using System.Diagnostics;
using System.Globalization;
using System.Text.Json.Nodes;
using Sedd.Runtime;

namespace Sedd.Load;

/// <summary>
/// The same request through <c>sedd sample</c>: its JSON lines' <c>seconds</c> is the sampling time of
/// each batch (package load and session start excluded). One process draws <c>runs + 1</c> samples one
/// batch at a time: the first is the cold figure a one-off <c>sedd sample</c> shows (ONNX Runtime's first
/// run included), the median of the others the warm one a server request is held against.
/// </summary>
static class CliBaseline
{
    public static (double Cold, double[] Warm) SamplingSeconds(IReadOnlyList<string> modelArgs, string provider, int threads, string prompt, int length, int steps,
        string sampler, int runs, CancellationToken cancel)
    {
        cancel.ThrowIfCancellationRequested();
        var start = new ProcessStartInfo(Environment.GetEnvironmentVariable("DOTNET_HOST_PATH") ?? "dotnet")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (var a in (string[])[ServerUnderTest.SeddDll, "sample", .. modelArgs, "--provider", provider, "--threads", threads.ToString(CultureInfo.InvariantCulture),
            "--prompt", prompt, "--length", length.ToString(CultureInfo.InvariantCulture), "--steps", steps.ToString(CultureInfo.InvariantCulture),
            "--sampler", sampler, "--seed", "0", "--batch", "1", "--num-samples", (runs + 1).ToString(CultureInfo.InvariantCulture), "--format", "jsonl"])
            start.ArgumentList.Add(a);
        using var p = Process.Start(start) ?? throw new SeddException("sedd sample could not be started", SeddException.Environment);
        var stdout = p.StandardOutput.ReadToEndAsync(cancel);
        var stderr = p.StandardError.ReadToEndAsync(cancel);
        p.WaitForExit();
        if (p.ExitCode != 0) throw new SeddException($"sedd sample failed ({p.ExitCode}): {TerminalText.Neutralise(stderr.Result.Trim(), keepNewlines: false)}", SeddException.Environment);
        var seconds = stdout.Result.Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(l => (double)JsonNode.Parse(l)!["seconds"]!).ToArray();
        return (seconds[0], seconds[1..]);
    }

    public static double Median(IReadOnlyList<double> values)
    {
        var s = values.Order().ToArray();
        return s.Length == 0 ? double.NaN : s.Length % 2 == 1 ? s[s.Length / 2] : (s[s.Length / 2 - 1] + s[s.Length / 2]) / 2;
    }
}
