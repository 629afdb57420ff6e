using System.Globalization;
using Sedd.Runtime;
using Sedd.Runtime.Onnx;
using Sedd.Runtime.Sampling;

namespace Sedd.Cli;

/// <summary>
/// <c>sedd bench</c>: what the runtime alone can measure, at the model's full length and each batch
/// size: ms per forward, the forward's GFLOP/s (<see cref="ForwardCost"/>), the host's share of a
/// sampling step (time outside ONNX Runtime), network evaluations with and without exact caching, and
/// managed bytes allocated per step in steady state (sampler on one thread; a warm-up run first). The
/// comparison with TorchSharp and a matmul peak lives in a separate benchmark program.
/// </summary>
static class BenchCommand
{
    public static int Run(string? model, string batchList, int steps, string provider, int threads, TextWriter o, CancellationToken cancel)
    {
        if (steps <= 0) throw new SeddException($"--steps must be at least 1, got {steps}", SeddException.Usage);
        ThreadCount.Check(threads, "--threads");
        var batches = ParseBatches(batchList);
        var ep = ExecutionProviders.Parse(provider);
        var package = ModelLocator.Open(model);
        var m = package.Manifest;
        using var network = OnnxScoreNetwork.Open(package, new OnnxScoreNetworkOptions { Provider = ep, Threads = threads });
        var inv = CultureInfo.InvariantCulture;
        o.WriteLine(string.Create(inv, $"model {Path.GetFileName(package.Folder)}: {m.Model.Parameters:N0} parameters, length {m.Length}, {m.Graph.States} states, {m.Onnx.Precision}; {network.Provider.Describe()}, threads {(threads == 0 ? "auto" : threads.ToString(inv))}, {steps} steps + denoise"));
        o.WriteLine("batch  ms/forward  GFLOP/s  host share  evals (no cache)  evals (cache)  bytes/step");
        var graph = m.CreateGraph();
        var noise = m.CreateNoise();
        foreach (int batch in batches)
        {
            cancel.ThrowIfCancellationRequested();
            var plain = new DiffusionSampler(graph, noise, network, batch, m.Length, new SamplingOptions { Steps = steps, CacheScores = false });
            plain.Run(1, cancel); // warm-up: ORT's first runs plan memory and pick kernels
            plain.Reset(2);
            long before = GC.GetAllocatedBytesForCurrentThread();
            for (int i = 0; i < steps; i++) plain.PredictorStep(i, 2);
            plain.DenoiseStep(2);
            long bytesPerStep = (GC.GetAllocatedBytesForCurrentThread() - before) / (steps + 1);
            double ms = plain.NetworkTime.TotalMilliseconds / plain.NetworkEvaluations;
            double gflops = ForwardCost.Flops(m, batch, m.Length) / (ms / 1000) / 1e9;
            double host = plain.HostTime.TotalMilliseconds / (plain.HostTime.TotalMilliseconds + plain.NetworkTime.TotalMilliseconds);
            string cached = "n/a";
            if (network.TimeIndependent)
            {
                cancel.ThrowIfCancellationRequested();
                var caching = new DiffusionSampler(graph, noise, network, batch, m.Length, new SamplingOptions { Steps = steps });
                caching.Run(2, cancel);
                cached = string.Create(inv, $"{caching.NetworkEvaluations} ({caching.CachedEvaluations} saved)");
            }
            o.WriteLine(string.Create(inv, $"{batch,5}  {ms,10:F2}  {gflops,7:F1}  {host,9:P1}  {plain.NetworkEvaluations,16}  {cached,13}  {bytesPerStep,10}"));
        }
        return 0;
    }

    static int[] ParseBatches(string list)
    {
        var parts = list.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        var result = new int[parts.Length];
        for (int i = 0; i < parts.Length; i++)
            if (!int.TryParse(parts[i], NumberStyles.None, CultureInfo.InvariantCulture, out result[i]) || result[i] < 1)
                throw new SeddException($"--batch-sizes takes comma-separated positive sizes such as 1,8; '{TerminalText.Neutralise(parts[i], keepNewlines: false)}' is not one", SeddException.Usage);
        if (result.Length == 0) throw new SeddException("--batch-sizes needs at least one size, e.g. 1,8", SeddException.Usage);
        return result;
    }
}
