using Sedd.Runtime.Onnx;
using Sedd.Runtime.Package;
using Sedd.Runtime.Sampling;

namespace Sedd.Compare;

/// <summary>What a sampling run with the ONNX Runtime network costs on the host.</summary>
/// <param name="Batch">B.</param>
/// <param name="Predictor">Euler or analytic.</param>
/// <param name="HostShare">HostTime / (HostTime + NetworkTime) over the predictor steps and the denoise step.</param>
/// <param name="MsPerStep">Wall time of a step, network included.</param>
/// <param name="Steps">Steps measured (predictor steps plus the denoise step).</param>
/// <param name="RowEvaluations">Sequences evaluated by the network, summed over the steps.</param>
/// <param name="CachedRows">Sequences whose output came from the cache instead (time-independent models only).</param>
/// <param name="BytesPerStep">Managed bytes the calling thread allocated per predictor step in steady state.</param>
/// <param name="AllBytesPerStep">The same over all threads (the sampler's row workers included; may catch stray background work).</param>
sealed record SamplingCost(int Batch, Predictor Predictor, double HostShare, double MsPerStep, int Steps, long RowEvaluations, long CachedRows,
    long BytesPerStep, long AllBytesPerStep);

/// <summary>
/// Runs <see cref="DiffusionSampler"/> over an <see cref="OnnxScoreNetwork"/> and measures the host's
/// share of a step (projection, reverse rates, categorical draws) from the sampler's own counters
/// (<see cref="DiffusionSampler.HostTime"/>, <see cref="DiffusionSampler.NetworkTime"/>,
/// <see cref="DiffusionSampler.RowEvaluations"/>, <see cref="DiffusionSampler.CachedRows"/>) and the
/// managed bytes a step allocates once everything is warm. Caching is on, as users run the sampler.
/// </summary>
static class SamplingShare
{
    const ulong Seed = 20240;

    /// <summary>One warm-up run, then a measured run of <paramref name="steps"/> predictor steps and the denoise step.</summary>
    /// <param name="manifest">The package's manifest (graph and noise).</param>
    /// <param name="network">The ORT network (bound to the sampler's buffers by its constructor).</param>
    /// <param name="batch">B.</param>
    /// <param name="length">L.</param>
    /// <param name="steps">Predictor steps.</param>
    /// <param name="predictor">Euler or analytic.</param>
    /// <param name="threads">The sampler's row workers (the same count the network runs with).</param>
    /// <param name="cancel">Checked before every step.</param>
    public static SamplingCost Measure(ModelManifest manifest, OnnxScoreNetwork network, int batch, int length, int steps, Predictor predictor, int threads,
        CancellationToken cancel = default)
    {
        var options = new SamplingOptions { Steps = steps, Predictor = predictor, Threads = threads };
        var sampler = new DiffusionSampler(manifest.CreateGraph(), manifest.CreateNoise(), network, batch, length, options);
        sampler.Run(Seed, cancel); // warm-up: ORT's first runs and the sampler's first draws touch every buffer

        sampler.Reset(Seed + 1);
        long allocated = 0;
        long allThreadsBefore = GC.GetTotalAllocatedBytes(precise: true);
        long start = System.Diagnostics.Stopwatch.GetTimestamp();
        for (int i = 0; i < steps; i++)
        {
            cancel.ThrowIfCancellationRequested();
            long before = GC.GetAllocatedBytesForCurrentThread();
            sampler.PredictorStep(i);
            allocated += GC.GetAllocatedBytesForCurrentThread() - before;
        }
        long allThreads = GC.GetTotalAllocatedBytes(precise: true) - allThreadsBefore;
        cancel.ThrowIfCancellationRequested();
        sampler.DenoiseStep();
        double wallMs = System.Diagnostics.Stopwatch.GetElapsedTime(start).TotalMilliseconds;

        double host = sampler.HostTime.TotalMilliseconds, net = sampler.NetworkTime.TotalMilliseconds;
        return new SamplingCost(batch, predictor, host / (host + net), wallMs / (steps + 1), steps + 1,
            sampler.RowEvaluations, sampler.CachedRows, allocated / steps, allThreads / steps);
    }
}
