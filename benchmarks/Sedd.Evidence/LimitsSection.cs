using Sedd.Trainer.Training;

namespace Sedd.Evidence;

/// <summary>
/// Section 4: the machine's limits. Training tokens/s in fp32 and bf16 and model FLOPs utilisation
/// against the matmul peak measured in the same run (<see cref="TrainingBenchmark"/>, the default
/// model's config with a small batch), and — when present — the output of benchmarks/Sedd.Compare
/// (ONNX Runtime against TorchSharp, host sampling share).
/// </summary>
static class LimitsSection
{
    /// <summary>Name of the text file benchmarks/Sedd.Compare writes into the output folder.</summary>
    public const string CompareFile = "compare.txt";

    const string Config = "configs/brown-absorb-default.json";
    const int BenchBatch = 8;

    /// <summary>Runs the training benchmark and returns its printed table.</summary>
    public static string RunBenchmark(Workspace ws, EvidenceOptions o, string brown, TextWriter log)
    {
        var file = ws.Full(Config);
        var config = ConfigLoader.Load(file, [$"training.batch_size={BenchBatch}", $"training.threads={o.Threads}", $"data={brown}"]);
        log.WriteLine($"[limits] training benchmark: {Config}, batch {BenchBatch}, {string.Join(" and ", o.Precisions)}, {o.BenchSteps} timed steps after {o.BenchWarmup} warm-up");
        var text = new StringWriter();
        TrainingBenchmark.Run(config, o.BenchSteps, o.BenchWarmup, o.Precisions, text);
        var output = text.ToString().Replace(brown, "data/brown", StringComparison.Ordinal);
        foreach (var line in output.Split('\n', StringSplitOptions.RemoveEmptyEntries)) log.WriteLine("  " + line.TrimEnd());
        return output;
    }

    /// <summary>Appends the benchmark text and the comparison hook.</summary>
    public static void Write(EvidenceReport report, string benchmark, EvidenceOptions o)
    {
        report.Data("limits", new { config = Config, batch = BenchBatch, steps = o.BenchSteps, warmup = o.BenchWarmup, precisions = o.Precisions, benchmark });
        var intro = $"`sedd-train bench` on `{Config}` with batch {BenchBatch} ({o.BenchSteps} timed steps after {o.BenchWarmup} warm-up; " +
            "MFU = model matmul FLOP/s ÷ the 1024³ matmul peak measured in the same run):";
        report.Markdown.AppendLine("## 4. Limits").AppendLine().AppendLine(intro).AppendLine().AppendLine("```").Append(benchmark.TrimEnd()).AppendLine().AppendLine("```").AppendLine();
        report.Readme.AppendLine("**Limits** — " + intro).AppendLine().AppendLine("```").Append(benchmark.TrimEnd()).AppendLine().AppendLine("```").AppendLine();
        AppendCompare(report, report.OutFolder);
    }

    /// <summary>
    /// Hook for benchmarks/Sedd.Compare (<c>sedd bench</c> ratios: ONNX Runtime against TorchSharp, host
    /// sampling share). Its output file <see cref="CompareFile"/> in <paramref name="outFolder"/> is
    /// included verbatim when it exists; the integrator wires the program that writes it.
    /// </summary>
    /// <param name="report">Report to append to.</param>
    /// <param name="outFolder">Evidence output folder.</param>
    public static void AppendCompare(EvidenceReport report, string outFolder)
    {
        ArgumentNullException.ThrowIfNull(report);
        var file = Path.Combine(outFolder, CompareFile);
        report.Markdown.AppendLine("### ONNX Runtime against TorchSharp").AppendLine();
        if (File.Exists(file))
        {
            var text = File.ReadAllText(file).TrimEnd();
            report.Data("compare", text);
            report.Markdown.AppendLine($"From `{CompareFile}` (benchmarks/Sedd.Compare, written {File.GetLastWriteTimeUtc(file):yyyy-MM-dd HH:mm} UTC):").AppendLine()
                .AppendLine("```").AppendLine(text).AppendLine("```").AppendLine();
            report.Readme.AppendLine("**ONNX Runtime against TorchSharp** (benchmarks/Sedd.Compare):").AppendLine().AppendLine("```").AppendLine(text).AppendLine("```").AppendLine();
        }
        else
        {
            report.Data("compare", null);
            report.Markdown.AppendLine($"Not measured in this run: `{CompareFile}` (written by benchmarks/Sedd.Compare) is not in the output folder.").AppendLine();
        }
    }
}
