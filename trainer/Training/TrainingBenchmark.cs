using System.Diagnostics;
using System.Globalization;
using Sedd.Trainer.Data;
using TorchSharp;
using static TorchSharp.torch;

namespace Sedd.Trainer.Training;

/// <summary>
/// <c>sedd-train bench</c>: training tokens/s of one configuration in fp32 and bf16, the model FLOPs
/// utilisation against the matmul peak measured in the same run, and peak resident memory.
/// A program that prints numbers, not a test.
/// </summary>
public static class TrainingBenchmark
{
    /// <summary>Runs the benchmark and prints a table.</summary>
    public static void Run(TrainConfig config, int steps, int warmup, IReadOnlyList<string> precisions, TextWriter output)
    {
        var c = CultureInfo.InvariantCulture;
        var device = Devices.Resolve(config.Training.Device);
        if (config.Training.Threads > 0) set_num_threads(config.Training.Threads);
        output.WriteLine(string.Create(c, $"machine: {Environment.ProcessorCount} cores, {get_num_threads()} torch threads, device {device.type}, {System.Runtime.InteropServices.RuntimeInformation.OSDescription}"));
        double peak32 = MatmulPeak(ScalarType.Float32, device), peak16 = MatmulPeak(ScalarType.BFloat16, device);
        output.WriteLine(string.Create(c, $"matmul peak (1024³, measured now): fp32 {peak32 / 1e9:F0} GFLOP/s, bf16 {peak16 / 1e9:F0} GFLOP/s ({peak16 / peak32:F2}×)"));
        using var data = TokenDataset.Open(config.Data, DataSplit.Train);
        int length = config.Model.Length, batch = config.Training.BatchSize;
        output.WriteLine($"model: {config.Objective}, H {config.Model.HiddenSize}, {config.Model.NBlocks} blocks, {config.Model.NHeads} heads, L {length}, batch {batch}, vocab {data.VocabSize}");
        output.WriteLine("precision | tokens/s | ms/step | model GFLOP/s | MFU vs own-precision peak | MFU vs fp32 peak | peak RSS MB");
        double? fp32Rate = null;
        foreach (var precision in precisions)
        {
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
            var clock = new Stopwatch();
            for (int s = 0; s < warmup + steps; s++)
            {
                if (s == warmup) clock.Start();
                using var scope = NewDisposeScope();
                adam.ZeroGrad();
                var x0 = tensor(buffer, [batch, length], ScalarType.Int64).to(device);
                objective.SequenceLoss(x0, generator).mean().backward();
                adam.ClipGradients(1.0);
                adam.Update(1e-4);
            }
            double seconds = clock.Elapsed.TotalSeconds;
            double tokensPerSecond = (double)steps * batch * length / seconds;
            double flops = TrainingFlopsPerToken(cfg, data.VocabSize) * tokensPerSecond;
            double peak = precision == "bf16" ? peak16 : peak32;
            fp32Rate ??= tokensPerSecond;
            output.WriteLine(string.Create(c, $"{precision,-9} | {tokensPerSecond,8:F0} | {1000 * seconds / steps,7:F0} | {flops / 1e9,13:F1} | {100 * flops / peak,24:F1}% | {100 * flops / peak32,15:F1}% | {PeakMemoryMb(),11:F0}"));
            if (precision == "bf16" && precisions.Contains("fp32")) output.WriteLine(string.Create(c, $"bf16 end-to-end speed-up over fp32: {tokensPerSecond / fp32Rate:F2}×"));
        }
    }

    /// <summary>
    /// Matmul FLOPs per trained token (forward + backward = 3× forward): 6 per weight of every
    /// linear layer (embedding lookups excluded) plus attention's two L×L products, 12·blocks·H·L.
    /// </summary>
    public static double TrainingFlopsPerToken(TrainConfig config, int realTokens)
    {
        var m = config.Model;
        double h = m.HiddenSize, vocab = config.Objective == "sedd" && config.Graph.Type == "absorb" ? realTokens + 1 : realTokens;
        double perBlock = 3 * h * h + h * h + 8 * h * h + (config.Objective == "sedd" ? 6 * h * m.CondDim : 0);
        double linear = m.NBlocks * perBlock + h * vocab + (config.Objective == "sedd" ? 2 * h * m.CondDim : 0);
        return 6 * linear + 12.0 * m.NBlocks * h * m.Length;
    }

    static double MatmulPeak(ScalarType type, Device device)
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
        while (clock.Elapsed.TotalSeconds < 1.5 || reps < 3) { using var r = a.matmul(b); reps++; }
        return 2.0 * n * n * n * reps / clock.Elapsed.TotalSeconds;
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
