using System.Diagnostics;
using System.Globalization;
using Sedd.Cli;
using Sedd.Runtime;
using Sedd.Trainer.Data;
using TorchSharp;
using static TorchSharp.torch;

namespace Sedd.Trainer.Training;

/// <summary>
/// <c>sedd-train bench</c>: training tokens/s of one configuration in fp32 and bf16, the model FLOPs
/// utilisation (MFU) against the matmul peak measured in the same run (before and after the steps, the
/// higher one counts), and peak resident memory. Every step prints a progress line; a time budget ends
/// the timed steps early; Ctrl+C stops it between steps and matmuls. An MFU above 100 % is flagged as a
/// measurement problem, never printed as a result. A program that prints numbers, not a test.
/// </summary>
public static class TrainingBenchmark
{
    /// <summary>
    /// The precisions measured by default: fp32, plus bf16 where the hardware computes it natively (CUDA,
    /// or a CPU with AVX-512-BF16 or AMX); elsewhere libtorch would emulate bf16 far slower than fp32.
    /// </summary>
    /// <param name="device">Training device.</param>
    /// <param name="skipped">Why bf16 was left out, or null.</param>
    public static string[] DefaultPrecisions(Device device, out string? skipped)
    {
        ArgumentNullException.ThrowIfNull(device);
        skipped = null;
        if (device.type == DeviceType.CUDA || CpuHasNativeBf16()) return ["fp32", "bf16"];
        skipped = "bf16 skipped: this CPU has no native bf16 instructions (no avx512_bf16 or amx_bf16 among its flags), so libtorch would emulate bf16 " +
                  "far slower than fp32; pass --precisions fp32,bf16 to measure it anyway";
        return ["fp32"];
    }

    /// <summary>Whether /proc/cpuinfo lists avx512_bf16 or amx_bf16 (false where it cannot be read).</summary>
    public static bool CpuHasNativeBf16()
    {
        try
        {
            foreach (var line in File.ReadLines("/proc/cpuinfo"))
                if (line.StartsWith("flags", StringComparison.Ordinal))
                    return line.Split(' ').Any(f => f is "avx512_bf16" or "amx_bf16");
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException) { }
        return false;
    }

    /// <summary>Runs the benchmark and prints a table.</summary>
    /// <param name="config">Resolved config (model, batch, threads, device).</param>
    /// <param name="steps">Timed steps per precision.</param>
    /// <param name="warmup">Untimed steps per precision before them.</param>
    /// <param name="precisions">"fp32" and/or "bf16".</param>
    /// <param name="output">Where the measurements and the table go.</param>
    /// <param name="cancel">Checked between steps and matmuls (Ctrl+C).</param>
    /// <param name="budgetSeconds">Time budget of the timed steps of each precision (0 = none); at least one timed step runs.</param>
    /// <param name="progress">Where a line per step goes (the console); null for none (a report).</param>
    public static void Run(TrainConfig config, int steps, int warmup, IReadOnlyList<string> precisions, TextWriter output,
        CancellationToken cancel = default, double budgetSeconds = 0, TextWriter? progress = null)
    {
        ArgumentNullException.ThrowIfNull(config);
        ArgumentNullException.ThrowIfNull(precisions);
        ArgumentNullException.ThrowIfNull(output);
        var c = CultureInfo.InvariantCulture;
        var device = Devices.Resolve(config.Training.Device);
        if (config.Training.Threads > 0) set_num_threads(Math.Min(config.Training.Threads, ThreadCount.Max));
        using var data = TokenDataset.Open(config.Data, DataSplit.Train, cancel: cancel);
        int length = config.Model.Length, batch = config.Training.BatchSize;
        data.BlockCount(length); // a split shorter than one block is refused here, before any measurement
        TrainingMemory.RequireTraining(config with { Training = config.Training with { Accum = 1 } }, data.VocabSize);

        string load = LoadAverage();
        output.WriteLine(string.Create(c, $"machine: {Environment.ProcessorCount} cores, {get_num_threads()} torch threads, device {device.type}, {System.Runtime.InteropServices.RuntimeInformation.OSDescription}, load average {load} at the start; native heap: {NativeHeap.InForce}"));
        output.WriteLine($"model: {config.Objective}, H {config.Model.HiddenSize}, {config.Model.NBlocks} blocks, {config.Model.NHeads} heads, L {length}, batch {batch}, vocab {data.VocabSize}");
        var before = precisions.ToDictionary(p => p, p => MatmulPeak(Type(p), device, cancel));
        output.WriteLine("matmul peak before the steps (1024³): " + string.Join(", ", before.Select(p => string.Create(c, $"{p.Key} {p.Value / 1e9:F0} GFLOP/s"))));

        var rows = new List<(string Precision, double TokensPerSecond, double MsPerStep, double Flops, double PeakRssMb, int Timed)>();
        foreach (var precision in precisions)
            rows.Add(Measure(config, data, device, precision, steps, warmup, budgetSeconds, output, progress ?? TextWriter.Null, cancel));

        var after = precisions.ToDictionary(p => p, p => MatmulPeak(Type(p), device, cancel));
        output.WriteLine("matmul peak after the steps (1024³):  " + string.Join(", ", after.Select(p => string.Create(c, $"{p.Key} {p.Value / 1e9:F0} GFLOP/s"))));
        output.WriteLine("precision | tokens/s | ms/step | model GFLOP/s | MFU (vs the higher peak of its precision) | peak RSS MB");
        bool implausible = false;
        foreach (var r in rows)
        {
            var mfu = MfuCell(r.Flops, Math.Max(before[r.Precision], after[r.Precision]), out bool tooHigh);
            implausible |= tooHigh;
            output.WriteLine(string.Create(c, $"{r.Precision,-9} | {r.TokensPerSecond,8:F0} | {r.MsPerStep,7:F0} | {r.Flops / 1e9,13:F1} | {mfu,42} | {r.PeakRssMb,11:F0}"));
        }
        if (rows.Count == 2 && rows[0].Precision == "fp32")
            output.WriteLine(string.Create(c, $"bf16 end-to-end speed-up over fp32: {rows[1].TokensPerSecond / rows[0].TokensPerSecond:F2}×"));
        if (implausible) output.WriteLine(ImplausibleMfu(load, LoadAverage()));
    }

    /// <summary>The MFU column: "53.0%", or "119.0% !" flagged when above 100 % (see <see cref="ImplausibleMfu"/>).</summary>
    /// <param name="flops">Model FLOP/s.</param>
    /// <param name="peak">Matmul peak FLOP/s of the same precision.</param>
    /// <param name="implausible">Whether the value exceeds 100 %.</param>
    internal static string MfuCell(double flops, double peak, out bool implausible)
    {
        double mfu = 100 * flops / peak;
        implausible = !(mfu <= 100);
        return mfu.ToString("F1", CultureInfo.InvariantCulture) + "%" + (implausible ? " !" : "");
    }

    /// <summary>Why an MFU above 100 % is a measurement problem, printed under the table when one occurs.</summary>
    internal static string ImplausibleMfu(string loadBefore, string loadAfter) =>
        "! MFU above 100 % is a measurement problem, not a result: the model ran faster than the matmul peak measured here. " +
        $"That happens when the peak was measured while other work loaded the machine (load average {loadBefore} at the start, {loadAfter} at the end), " +
        "when the CPU's clock changed between the measurements, or when the model's kernels outrun a 1024³ matmul; measure again on an idle machine.";

    static (string, double, double, double, double, int) Measure(TrainConfig config, TokenDataset data, Device device, string precision,
        int steps, int warmup, double budgetSeconds, TextWriter output, TextWriter progress, CancellationToken cancel)
    {
        var c = CultureInfo.InvariantCulture;
        int length = config.Model.Length, batch = config.Training.BatchSize;
        ResetPeakMemory();
        manual_seed(config.Training.Seed);
        var cfg = config with { Training = config.Training with { Precision = precision } };
        using var objective = Objectives.Create(cfg, data, device);
        var named = objective.Network.named_parameters().ToArray();
        using var adam = new AdamW(named, cfg.Optim);
        var generator = new Generator(1, device);
        var buffer = new long[batch * length];
        int blocks = data.BlockCount(length);
        for (int i = 0; i < batch; i++) data.ReadBlock(i % blocks, length, buffer.AsSpan(i * length, length));
        var timed = new Stopwatch();
        int done = 0;
        for (int s = 0; s < warmup + steps; s++)
        {
            cancel.ThrowIfCancellationRequested();
            bool isTimed = s >= warmup;
            if (isTimed && done > 0 && budgetSeconds > 0 && timed.Elapsed.TotalSeconds >= budgetSeconds)
            {
                output.WriteLine(string.Create(c, $"  {precision}: time budget of {budgetSeconds:F0} s reached after {done} of {steps} timed steps"));
                break;
            }
            var clock = Stopwatch.StartNew();
            if (isTimed) timed.Start();
            using (var scope = NewDisposeScope())
            {
                adam.ZeroGrad();
                var x0 = tensor(buffer, [batch, length], ScalarType.Int64).to(device);
                objective.SequenceLoss(x0, generator).mean().backward();
                adam.ClipGradients(1.0);
                adam.Update(1e-4);
            }
            if (isTimed) { timed.Stop(); done++; }
            progress.WriteLine(string.Create(c, $"  {precision} step {s + 1}/{warmup + steps} ({(isTimed ? $"timed {done}/{steps}" : "warm-up")}): {clock.Elapsed.TotalSeconds:F2} s"));
        }
        double seconds = timed.Elapsed.TotalSeconds;
        double tokensPerSecond = (double)done * batch * length / seconds;
        double flops = TrainingFlopsPerToken(cfg, data.VocabSize) * tokensPerSecond;
        return (precision, tokensPerSecond, 1000 * seconds / done, flops, PeakMemoryMb(), done);
    }

    /// <summary>
    /// Matmul FLOPs per trained token (forward + backward = 3× forward): 6 per weight of every
    /// linear layer (embedding lookups excluded) plus attention's two L×L products, 12·blocks·H·L.
    /// </summary>
    public static double TrainingFlopsPerToken(TrainConfig config, int realTokens)
    {
        ArgumentNullException.ThrowIfNull(config);
        var m = config.Model;
        double h = m.HiddenSize, vocab = config.Objective == "sedd" && config.Graph.Type == "absorb" ? realTokens + 1 : realTokens;
        double perBlock = 3 * h * h + h * h + 8 * h * h + (config.Objective == "sedd" ? 6 * h * m.CondDim : 0);
        double linear = m.NBlocks * perBlock + h * vocab + (config.Objective == "sedd" ? 2 * h * m.CondDim : 0);
        return 6 * linear + 12.0 * m.NBlocks * h * m.Length;
    }

    static ScalarType Type(string precision) => precision == "bf16" ? ScalarType.BFloat16 : ScalarType.Float32;

    static double MatmulPeak(ScalarType type, Device device, CancellationToken cancel)
    {
        using var scope = NewDisposeScope();
        // 1024³ (2.1 GFLOP): large enough to reach the kernel's peak, small enough that a CPU
        // without bf16 instructions (where libtorch emulates them) still answers in seconds.
        const int n = 1024;
        var a = randn(n, n, dtype: type, device: device);
        var b = randn(n, n, dtype: type, device: device);
        a.matmul(b);
        var clock = Stopwatch.StartNew();
        int reps = 0;
        while (clock.Elapsed.TotalSeconds < 1.5 || reps < 3)
        {
            cancel.ThrowIfCancellationRequested();
            using var r = a.matmul(b);
            reps++;
        }
        return 2.0 * n * n * n * reps / clock.Elapsed.TotalSeconds;
    }

    static string LoadAverage()
    {
        try { return File.ReadAllText("/proc/loadavg").Split(' ')[0]; }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException) { return "unknown"; }
    }

    static void ResetPeakMemory()
    {
        try { File.WriteAllText("/proc/self/clear_refs", "5"); }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException) { }
    }

    static double PeakMemoryMb()
    {
        try
        {
            foreach (var line in File.ReadLines("/proc/self/status"))
                if (line.StartsWith("VmHWM:", StringComparison.Ordinal))
                    return double.Parse(line[6..].Trim().Split(' ')[0], CultureInfo.InvariantCulture) / 1024;
        }
        catch (IOException) { }
        return Process.GetCurrentProcess().PeakWorkingSet64 / 1048576.0;
    }
}
