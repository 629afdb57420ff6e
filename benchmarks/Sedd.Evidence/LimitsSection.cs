using Sedd.Compare;
using Sedd.Runtime.Package;
using Sedd.Trainer.Training;

namespace Sedd.Evidence;

/// <summary>What section 4 measured: the training benchmark's table and the comparison's report.</summary>
/// <param name="Benchmark">sedd-train bench's output.</param>
/// <param name="Compare">sedd-compare's report on the package.</param>
sealed record LimitsResult(string Benchmark, string Compare);

/// <summary>
/// Section 4: the machine's limits. Training tokens/s in fp32 and bf16 and model FLOPs utilisation
/// against the matmul peak measured in the same run (<see cref="TrainingBenchmark"/>, the default
/// model's config with a small batch), and the comparison of <c>sedd-compare</c> run on the package in
/// this process: ONNX Runtime against TorchSharp, and the sampler's host share at batch 1 and 8 for both
/// predictors, rows evaluated, managed bytes per step and the host SIMD width.
/// </summary>
static class LimitsSection
{
    const string Config = "configs/brown-absorb-default.json";
    const int BenchBatch = 8;

    /// <summary>Runs the training benchmark and the comparison.</summary>
    public static LimitsResult Run(Workspace ws, EvidenceOptions o, ModelPackage package, string brown, TextWriter log, CancellationToken cancel)
    {
        var file = ws.Full(Config);
        var config = ConfigLoader.Load(file, [$"training.batch_size={BenchBatch}", $"training.threads={o.Threads}", $"data={brown}"]);
        var precisions = o.Precisions.Where(p => p == "fp32" || TrainingBenchmark.CpuHasNativeBf16()).ToList();
        log.WriteLine($"[limits] training benchmark: {Config}, batch {BenchBatch}, {string.Join(" and ", precisions)}, {o.BenchSteps} timed steps after {o.BenchWarmup} warm-up ...");
        var text = new StringWriter();
        TrainingBenchmark.Run(config, o.BenchSteps, o.BenchWarmup, precisions, text, cancel, budgetSeconds: 120);
        var benchmark = text.ToString().Replace(brown, "data/brown", StringComparison.Ordinal);
        if (precisions.Count < o.Precisions.Count) benchmark += "bf16 not measured: this CPU has no native bf16 (libtorch would emulate it, far slower than fp32)\n";
        foreach (var line in benchmark.Split('\n', StringSplitOptions.RemoveEmptyEntries)) log.WriteLine("  " + line.TrimEnd());

        log.WriteLine($"[limits] ONNX Runtime against TorchSharp, host share (sedd-compare) ...");
        var compare = new StringWriter();
        CompareRun.Run(new CompareSettings(package.Folder, null, o.Threads, [1, 8], 0, o.CompareRuns, o.CompareWarmup, o.CompareSteps), compare, new Indented(log), cancel);
        return new LimitsResult(benchmark, compare.ToString().Replace(ws.Root + Path.DirectorySeparatorChar, "", StringComparison.Ordinal));
    }

    /// <summary>Appends both blocks.</summary>
    public static void Write(EvidenceReport report, LimitsResult r, EvidenceOptions o)
    {
        report.Data("limits", new { config = Config, batch = BenchBatch, steps = o.BenchSteps, warmup = o.BenchWarmup, precisions = o.Precisions, benchmark = r.Benchmark, compare = r.Compare });
        var intro = $"`sedd-train bench` on `{Config}` with batch {BenchBatch} ({o.BenchSteps} timed steps after {o.BenchWarmup} warm-up; " +
            "MFU = model matmul FLOP/s ÷ the 1024³ matmul peak measured in the same run):";
        var compareIntro = $"**ONNX Runtime against TorchSharp, and the sampler's host share** (`sedd-compare -t {o.Threads}` on the package, run in this process; " +
            "the AVX2 path of an AVX-512 machine: `DOTNET_EnableAVX512=0 sedd-compare`):";
        foreach (var sb in new[] { report.Markdown, report.Readme })
        {
            if (sb == report.Markdown) sb.AppendLine("## 4. Limits").AppendLine().AppendLine(intro);
            else sb.AppendLine("**Limits** — " + intro);
            sb.AppendLine().AppendLine("```").Append(r.Benchmark.TrimEnd()).AppendLine().AppendLine("```").AppendLine()
                .AppendLine(compareIntro).AppendLine().AppendLine("```").Append(r.Compare.TrimEnd()).AppendLine().AppendLine("```").AppendLine();
        }
    }

    // Progress lines of the comparison, indented under the section's own line.
    sealed class Indented(TextWriter inner) : TextWriter
    {
        public override System.Text.Encoding Encoding => inner.Encoding;

        public override void WriteLine(string? value) => inner.WriteLine("  " + value);
    }
}
