using System.Globalization;
using Sedd.Cli;
using Sedd.Runtime.Package;
using Sedd.Runtime.Sampling;
using Sedd.Trainer.Training;

namespace Sedd.Compare;

/// <summary>
/// The text <c>sedd-compare</c> prints: context (machine, load, model, threads), the matmul peak, the
/// forward table, the sampling table, and one PASS/MISS line per target.
/// </summary>
sealed class CompareReport(
    CompareSettings settings, ModelPackage fp32, ModelPackage? int8, int length, long torchParameters, int torchThreads,
    IReadOnlyList<(int Side, double Gflops)> peaks, IReadOnlyList<BatchResult> batches, IReadOnlyList<SamplingCost> sampling,
    string loadBefore, string loadAfter)
{
    // The project's targets for the CPU runtime.
    const double TorchRatioTarget = 0.75;
    const double PeakShareTarget = 0.65;
    const double Int8RatioTarget = 0.4;
    const double HostShareTarget = 0.05;

    static readonly CultureInfo Inv = CultureInfo.InvariantCulture;

    double Peak => peaks.Max(p => p.Gflops);

    /// <summary>Writes the whole report.</summary>
    /// <param name="o">Destination.</param>
    public void Write(TextWriter o)
    {
        var m = fp32.Manifest;
        o.WriteLine($"sedd-compare {DateTime.UtcNow.ToString("yyyy-MM-dd HH:mm 'UTC'", Inv)}");
        o.WriteLine($"machine: {Machine.Describe()}");
        o.WriteLine($"load average (1/5/15 min): {loadBefore} at start, {loadAfter} at end");
        o.WriteLine(F($"model: {Path.GetFileName(fp32.Folder)}: {m.Graph.Type}, {m.Graph.States} states, {m.Model.NBlocks} blocks × {m.Model.HiddenSize}, {m.Model.Parameters:N0} parameters (TorchSharp loaded {torchParameters:N0}); length {length} of {m.Length}"));
        if (int8 != null) o.WriteLine($"int8: {Path.GetFileName(int8.Folder)}");
        o.WriteLine(F($"threads: {settings.Threads} (libtorch reports {torchThreads}; ONNX Runtime CPU provider, intra-op {settings.Threads}); {settings.Warmup} warm-up + {settings.Runs} timed rounds per batch, interleaved; OMP_WAIT_POLICY {OpenMpWaitPolicy.InForce}; native heap: {NativeHeap.InForce}"));
        o.WriteLine($"host SIMD (TensorPrimitives and the sampler's rows): {Machine.HostSimd()}");
        o.WriteLine($"matmul peak (torch.mm fp32, best of 5 before and 5 after the forwards): {string.Join(", ", peaks.Select(p => F($"{p.Side}² {p.Gflops:F1}")))} GFLOP/s → peak {F($"{Peak:F1}")} GFLOP/s");
        o.WriteLine();
        WriteForwards(o);
        o.WriteLine();
        WriteSampling(o);
        o.WriteLine();
        WriteTargets(o);
    }

    void WriteForwards(TextWriter o)
    {
        o.WriteLine("forward (ms over the timed rounds; ratios of medians):");
        o.WriteLine("batch   GFLOP  engine    median ms   min ms  GFLOP/s  of peak  ×torch  max|Δ|");
        foreach (var b in batches)
        {
            Row(o, b, b.Torch, F($"{b.Batch,5}  {b.Flops / 1e9,6:F3}"), "");
            Row(o, b, b.Fp32, new string(' ', 13), F($"{b.Fp32VsTorch:0.0E+00} vs torch"));
            if (b.Int8 != null) Row(o, b, b.Int8, new string(' ', 13), F($"{b.Int8VsFp32:0.0E+00} vs ort-fp32"));
        }
    }

    void Row(TextWriter o, BatchResult b, Timing t, string lead, string diff)
    {
        double gflops = b.Flops / (t.MedianMs / 1000) / 1e9;
        o.WriteLine(F($"{lead}  {t.Name,-8}  {t.MedianMs,9:F2}  {t.MinMs,7:F2}  {gflops,7:F1}  {gflops / Peak,7:P0}  {t.MedianMs / b.Torch.MedianMs,6:F2}  {diff}"));
    }

    void WriteSampling(TextWriter o)
    {
        o.WriteLine(F($"sampling with ORT fp32 ({settings.Steps} steps + denoise, length {length}, caching on, sampler rows on {settings.Threads} thread(s), after a warm-up run; host SIMD {Machine.SimdWidth()}):"));
        o.WriteLine("batch  predictor  ms/step  host share  rows evaluated  rows cached  bytes/step  (all threads)");
        foreach (var c in sampling)
            o.WriteLine(F($"{c.Batch,5}  {Name(c.Predictor),-9}  {c.MsPerStep,7:F2}  {c.HostShare,10:P2}  {c.RowEvaluations,14}  {c.CachedRows,11}  {c.BytesPerStep,10}  {c.AllBytesPerStep,13}"));
        o.WriteLine("host share: time outside ONNX Runtime (projection, reverse rates, draws) over the whole step; rows: sequences the network evaluated, or took from the cache, summed over the steps");
        if (!fp32.Manifest.Model.TimeIndependent)
            o.WriteLine("(the model is time-dependent, so exact caching never applies: rows cached is 0 by design)");
    }

    void WriteTargets(TextWriter o)
    {
        o.WriteLine("targets:");
        var first = batches.FirstOrDefault(b => b.Batch == 1) ?? batches.MinBy(b => b.Batch)!;
        var last = batches.FirstOrDefault(b => b.Batch == 8) ?? batches.MaxBy(b => b.Batch)!;

        double r = first.Fp32.MedianMs / first.Torch.MedianMs;
        Target(o, F($"ORT fp32 / TorchSharp time, batch {first.Batch}"), F($"{r:F2} (min/min {first.Fp32.MinMs / first.Torch.MinMs:F2})"), F($"≤ {TorchRatioTarget:F2}"), r <= TorchRatioTarget);

        double share = last.Flops / (last.Fp32.MedianMs / 1000) / 1e9 / Peak;
        double bestShare = last.Flops / (last.Fp32.MinMs / 1000) / 1e9 / Peak;
        Target(o, F($"ORT fp32 GFLOP/s / matmul peak, batch {last.Batch}"), F($"{share:P1} (min run {bestShare:P1})"), F($"≥ {PeakShareTarget:P0}"), share >= PeakShareTarget);

        foreach (var b in batches.Where(b => b.Int8 != null))
        {
            double q = b.Int8!.MedianMs / b.Torch.MedianMs;
            Target(o, F($"ORT int8 / TorchSharp time, batch {b.Batch}"), F($"{q:F2} (min/min {b.Int8.MinMs / b.Torch.MinMs:F2})"), F($"≤ {Int8RatioTarget:F1}"), q <= Int8RatioTarget);
        }

        var worstHost = sampling.MaxBy(c => c.HostShare)!;
        Target(o, F($"host share of a sampling step (worst, {Machine.SimdWidth().Split(' ')[0]})"), F($"{worstHost.HostShare:P2} (batch {worstHost.Batch}, {Name(worstHost.Predictor)})"), F($"≤ {HostShareTarget:P0}"), worstHost.HostShare <= HostShareTarget);

        var worstBytes = sampling.MaxBy(c => c.BytesPerStep)!;
        Target(o, "managed bytes per step, sampling thread (worst)", F($"{worstBytes.BytesPerStep} (batch {worstBytes.Batch}, {Name(worstBytes.Predictor)})"), "= 0", worstBytes.BytesPerStep == 0);

        // sedd-export records an evaluation for fp32 packages only; an int8 package's bound is measured by --bound-data.
        o.WriteLine($"perplexity bound (manifest): fp32 {Bound(fp32.Manifest)}" + (int8 is null ? "" : "; int8: see --bound-data"));
    }

    static void Target(TextWriter o, string what, string value, string target, bool met) =>
        o.WriteLine($"  {what,-48} {value,-30} target {target,-7} {(met ? "PASS" : "MISS")}");

    static string Bound(ModelManifest m) => m.Provenance.Evaluation is { } e
        ? F($"{e.PerplexityBound:F1} ({e.Split}, {e.Samples} samples)")
        : "not recorded (export with --eval)";

    static string Name(Predictor p) => SamplingOptions.Name(p);

    static string F(FormattableString s) => s.ToString(Inv);
}
