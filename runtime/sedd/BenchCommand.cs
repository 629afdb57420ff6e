using System.Diagnostics;
using System.Globalization;
using System.Runtime.Intrinsics;
using Sedd.Runtime;
using Sedd.Runtime.Onnx;
using Sedd.Runtime.Sampling;

namespace Sedd.Cli;

/// <summary>
/// <c>sedd bench</c>: what the runtime alone can measure, at the model's full length and each batch
/// size: ms per forward, the forward's GFLOP/s (<see cref="ForwardCost"/>), the host's share of a
/// sampling step (time outside ONNX Runtime) for both predictors, managed bytes allocated per step in
/// steady state, and what exact per-sequence caching saves (rows evaluated, wall time) for
/// time-independent models, with first-hitting beside them. The comparison with TorchSharp and a matmul
/// peak lives in a separate benchmark program.
/// </summary>
static class BenchCommand
{
    public static int Run(string? model, string batchList, int steps, string provider, int threads, TextWriter o, CancellationToken cancel)
    {
        if (steps <= 0 || steps > 100_000) throw new SeddException($"--steps must lie in 1 … 100,000, got {steps}", SeddException.Usage);
        ThreadCount.Check(threads, "--threads");
        var batches = ParseBatches(batchList);
        var ep = ExecutionProviders.Parse(provider);
        var package = ModelLocator.Open(model);
        var m = package.Manifest;
        using var network = OnnxScoreNetwork.Open(package, new OnnxScoreNetworkOptions { Provider = ep, Threads = threads });
        var inv = CultureInfo.InvariantCulture;
        string simd = Vector512.IsHardwareAccelerated ? "Vector512 (AVX-512)" : Vector256.IsHardwareAccelerated ? "Vector256 (AVX2)" : "scalar";
        o.WriteLine(string.Create(inv, $"model {Path.GetFileName(package.Folder)}: {m.Model.Parameters:N0} parameters, length {m.Length}, {m.Graph.States} states, {m.Onnx.Precision}; {network.Provider.Describe()}, threads {(threads == 0 ? "auto" : threads.ToString(inv))}, {steps} steps + final denoise; host SIMD {simd}"));
        o.WriteLine("batch  ms/forward  GFLOP/s  host share (analytic / euler)  bytes/step");
        var graph = m.CreateGraph();
        var noise = m.CreateNoise();
        var caching = new List<string>();
        foreach (int batch in batches)
        {
            cancel.ThrowIfCancellationRequested();
            var shares = new double[2];
            double ms = 0;
            long bytesPerStep = 0;
            foreach (var (k, predictor) in new[] { (0, Predictor.Analytic), (1, Predictor.Euler) })
            {
                var plain = new DiffusionSampler(graph, noise, network, batch, m.Length, new SamplingOptions { Predictor = predictor, Steps = steps, CacheScores = false });
                plain.Run(1, cancel); // warm-up: ORT's first runs plan memory and pick kernels
                plain.Reset(2);
                long before = GC.GetAllocatedBytesForCurrentThread();
                for (int i = 0; i < steps; i++)
                {
                    cancel.ThrowIfCancellationRequested();
                    plain.PredictorStep(i);
                }
                plain.DenoiseStep();
                bytesPerStep = Math.Max(bytesPerStep, (GC.GetAllocatedBytesForCurrentThread() - before) / (steps + 1));
                ms = plain.NetworkTime.TotalMilliseconds / plain.NetworkEvaluations;
                shares[k] = plain.HostTime.TotalMilliseconds / (plain.HostTime.TotalMilliseconds + plain.NetworkTime.TotalMilliseconds);
            }
            double gflops = ForwardCost.Flops(m, batch, m.Length) / (ms / 1000) / 1e9;
            o.WriteLine(string.Create(inv, $"{batch,5}  {ms,10:F2}  {gflops,7:F1}  {shares[0],13:P1} / {shares[1],-13:P1}  {bytesPerStep,10}"));
            if (network.TimeIndependent && m.Graph.Type == "absorb") caching.Add(CachingRow(graph, noise, network, batch, m.Length, steps, cancel));
        }
        if (caching.Count > 0)
        {
            o.WriteLine();
            o.WriteLine("exact caching (time-independent model): a sequence whose tokens did not change is not evaluated again; wall s is the median of 3 runs, alternating with and without caching");
            o.WriteLine("batch  sampler         rows evaluated  wall s   vs no caching");
            foreach (var row in caching) o.Write(row);
        }
        return 0;
    }

    // Same seed with and without caching (identical samples), and first-hitting, timed on whole runs.
    // The runs with and without caching alternate over three rounds and report their medians, so that a
    // change in a shared machine's load falls on both alike.
    static string CachingRow(SamplingGraph graph, Sedd.Runtime.Noise.NoiseSchedule noise, OnnxScoreNetwork network, int batch, int length, int steps, CancellationToken cancel)
    {
        var inv = CultureInfo.InvariantCulture;
        const int rounds = 3;
        DiffusionSampler Sampler(SamplingOptions options)
        {
            var s = new DiffusionSampler(graph, noise, network, batch, length, options);
            s.Run(1, cancel);
            return s;
        }
        (long Rows, double Seconds, long[] Tokens) Time(DiffusionSampler s)
        {
            var clock = Stopwatch.StartNew();
            var tokens = s.Run(3, cancel).ToArray();
            return (s.RowEvaluations, clock.Elapsed.TotalSeconds, tokens);
        }
        var plain = Sampler(new SamplingOptions { Steps = steps, CacheScores = false });
        var cached = Sampler(new SamplingOptions { Steps = steps, CacheScores = true });
        var offRuns = new List<(long Rows, double Seconds, long[] Tokens)>();
        var onRuns = new List<(long Rows, double Seconds, long[] Tokens)>();
        for (int round = 0; round < rounds; round++)
        {
            offRuns.Add(Time(plain));
            onRuns.Add(Time(cached));
        }
        var off = offRuns.OrderBy(r => r.Seconds).ElementAt(rounds / 2);
        var on = onRuns.OrderBy(r => r.Seconds).ElementAt(rounds / 2);
        var hit = Time(Sampler(new SamplingOptions { Predictor = Predictor.FirstHitting }));
        string same = offRuns.Concat(onRuns).All(r => r.Tokens.AsSpan().SequenceEqual(off.Tokens)) ? "same samples" : "SAMPLES DIFFER";
        return string.Create(inv,
            $"{batch,5}  analytic        {off.Rows,14}  {off.Seconds,6:F2}\n" +
            $"{batch,5}  analytic+cache  {on.Rows,14}  {on.Seconds,6:F2}   {off.Rows / (double)on.Rows:F2}× fewer rows, {off.Seconds / on.Seconds:F2}× faster, {same}\n" +
            $"{batch,5}  first-hitting   {hit.Rows,14}  {hit.Seconds,6:F2}   one call per token ({hit.Rows / batch} per sequence)\n");
    }

    static int[] ParseBatches(string list)
    {
        var parts = list.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        var result = new int[parts.Length];
        for (int i = 0; i < parts.Length; i++)
            if (!int.TryParse(parts[i], NumberStyles.None, CultureInfo.InvariantCulture, out result[i]) || result[i] < 1 || result[i] > 4096)
                throw new SeddException($"--batch-sizes takes comma-separated sizes from 1 to 4096 such as 1,8; '{TerminalText.Neutralise(parts[i], keepNewlines: false)}' is not one", SeddException.Usage);
        if (result.Length == 0) throw new SeddException("--batch-sizes needs at least one size, e.g. 1,8", SeddException.Usage);
        return result;
    }
}
