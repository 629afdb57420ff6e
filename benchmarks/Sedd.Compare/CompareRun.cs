using System.Globalization;
using Sedd.Runtime;
using Sedd.Runtime.Onnx;
using Sedd.Runtime.Package;
using Sedd.Runtime.Sampling;

namespace Sedd.Compare;

/// <summary>What one <c>sedd-compare</c> run measures.</summary>
/// <param name="Package">fp32 package folder.</param>
/// <param name="Int8">Optional int8 package folder (<c>sedd-export --precision int8</c>) of the same model.</param>
/// <param name="Threads">Intra-op threads for libtorch, ONNX Runtime and the sampler alike.</param>
/// <param name="BatchSizes">Batch sizes.</param>
/// <param name="Length">Sequence length; 0 means the manifest's.</param>
/// <param name="Runs">Timed rounds per batch.</param>
/// <param name="Warmup">Untimed rounds per batch.</param>
/// <param name="Steps">Predictor steps of the sampling runs.</param>
public sealed record CompareSettings(string Package, string? Int8, int Threads, IReadOnlyList<int> BatchSizes, int Length, int Runs, int Warmup, int Steps);

/// <summary>One batch size: timings of every contestant and how far their outputs lie apart.</summary>
/// <param name="Batch">B.</param>
/// <param name="Flops">Forward FLOPs (<see cref="ForwardCost"/>).</param>
/// <param name="Torch">TorchSharp eager.</param>
/// <param name="Fp32">ORT, fp32 graph.</param>
/// <param name="Int8">ORT, int8 graph, if given.</param>
/// <param name="Fp32VsTorch">max |Δ| of the log-scores, ORT fp32 against TorchSharp.</param>
/// <param name="Int8VsFp32">max |Δ|, ORT int8 against ORT fp32.</param>
sealed record BatchResult(int Batch, double Flops, Timing Torch, Timing Fp32, Timing? Int8, double Fp32VsTorch, double? Int8VsFp32);

/// <summary>
/// The comparison on the same weights and threads in one process: the trainer's TorchSharp eager
/// forward, the exported fp32 ONNX graph and optionally its int8 variant under ONNX Runtime (CPU), a
/// torch.mm peak, and the runtime sampler's host share, rows evaluated and allocations.
/// </summary>
public static class CompareRun
{
    static readonly int[] PeakSides = [1024, 2048];

    /// <summary>Measures everything and writes the report to <paramref name="o"/>.</summary>
    /// <param name="s">Settings.</param>
    /// <param name="o">Destination of the report.</param>
    /// <param name="progress">Where a line per phase goes as it starts.</param>
    /// <param name="cancel">Checked between timed rounds and sampling steps (Ctrl+C: OperationCanceledException).</param>
    public static void Run(CompareSettings s, TextWriter o, TextWriter progress, CancellationToken cancel)
    {
        ArgumentNullException.ThrowIfNull(s);
        ArgumentNullException.ThrowIfNull(o);
        ArgumentNullException.ThrowIfNull(progress);
        var fp32 = ModelPackage.Open(s.Package);
        var m = fp32.Manifest;
        if (m.Onnx.Precision != "fp32")
            throw new SeddException($"--package must be an fp32 package (the baseline runs its safetensors weights); {s.Package} is {m.Onnx.Precision}", SeddException.Usage);
        var int8 = s.Int8 is null ? null : ModelPackage.Open(s.Int8);
        if (int8 != null) CheckSameModel(m, int8.Manifest, s.Int8!);
        int length = s.Length == 0 ? m.Length : s.Length;
        if (length < 1 || length > m.Length)
            throw new SeddException($"--length must be in 1 … {m.Length} (the model's length), got {s.Length}", SeddException.Usage);

        var loadBefore = Machine.LoadAverage();
        TorchScoreNetwork.Threads = s.Threads;
        using var torch = TorchScoreNetwork.Open(fp32);
        var ortOptions = new OnnxScoreNetworkOptions { Provider = ExecutionProvider.Cpu, Threads = s.Threads };
        using var ort = OnnxScoreNetwork.Open(fp32, ortOptions);
        using var ort8 = int8 is null ? null : OnnxScoreNetwork.Open(int8, ortOptions);

        progress.WriteLine("matmul peak ...");
        var peaks = new List<(int Side, double Gflops)>();
        foreach (int n in PeakSides) peaks.Add((n, TorchScoreNetwork.MatmulGflops(n, 5, cancel)));

        var batches = new List<BatchResult>();
        foreach (int b in s.BatchSizes)
        {
            progress.WriteLine(string.Create(CultureInfo.InvariantCulture, $"forwards at batch {b}: {s.Warmup} warm-up + {s.Runs} timed rounds ..."));
            batches.Add(MeasureBatch(m, torch, ort, ort8, b, length, s, cancel));
        }

        // Measured again after the forwards: on a shared machine the best of both is closer to the real peak.
        for (int i = 0; i < PeakSides.Length; i++)
            peaks[i] = (PeakSides[i], Math.Max(peaks[i].Gflops, TorchScoreNetwork.MatmulGflops(PeakSides[i], 5, cancel)));

        // One untimed pass of the first setting: whichever setting came first measured up to twice its steady
        // host share (tiered compilation still finishing the code every setting shares), whatever its predictor.
        SamplingShare.Measure(m, ort, s.BatchSizes[0], length, s.Steps, Predictor.Analytic, s.Threads, cancel);
        var sampling = new List<SamplingCost>();
        foreach (int b in s.BatchSizes)
        {
            foreach (var predictor in new[] { Predictor.Analytic, Predictor.Euler })
            {
                progress.WriteLine(string.Create(CultureInfo.InvariantCulture, $"sampling at batch {b}, {SamplingOptions.Name(predictor)}, {s.Steps} steps ..."));
                sampling.Add(SamplingShare.Measure(m, ort, b, length, s.Steps, predictor, s.Threads, cancel));
            }
        }

        var report = new CompareReport(s, fp32, int8, length, torch.Parameters, TorchScoreNetwork.Threads, peaks, batches, sampling,
            loadBefore, Machine.LoadAverage());
        report.Write(o);
    }

    static BatchResult MeasureBatch(ModelManifest m, TorchScoreNetwork torch, OnnxScoreNetwork ort, OnnxScoreNetwork? ort8, int batch, int length, CompareSettings s,
        CancellationToken cancel)
    {
        var (tokens, sigma) = RandomInputs(m, batch, length);
        int size = batch * length * m.Graph.States;
        var yTorch = new float[size];
        var y32 = new float[size];
        var y8 = ort8 is null ? [] : new float[size];

        // Bound once, like the sampler does: each timed ORT call reads and writes these arrays in place.
        ort.Bind(tokens, sigma, y32, batch, length);
        ort8?.Bind(tokens, sigma, y8, batch, length);
        torch.SetInputs(tokens, sigma);

        torch.Forward(yTorch);
        ort.Score(tokens, sigma, y32);
        ort8?.Score(tokens, sigma, y8);
        double fp32VsTorch = MaxAbsDiff(y32, yTorch);
        double? int8VsFp32 = ort8 is null ? null : MaxAbsDiff(y8, y32);

        var contestants = new List<(string, Action)>
        {
            ("torch", () => torch.Forward()),
            ("ort-fp32", () => ort.Score(tokens, sigma, y32)),
        };
        if (ort8 != null) contestants.Add(("ort-int8", () => ort8.Score(tokens, sigma, y8)));
        var t = InterleavedTimer.Run(contestants, s.Warmup, s.Runs, cancel);
        return new BatchResult(batch, ForwardCost.Flops(m, batch, length), t[0], t[1], ort8 is null ? null : t[2], fp32VsTorch, int8VsFp32);
    }

    /// <summary>
    /// Tokens as the sampler meets them mid-run (absorb: about half masked, the rest ordinary tokens;
    /// uniform: any state), and σ̄ = σ̄(t) of the package's schedule at random t in [0.05, 0.95].
    /// </summary>
    static (long[] Tokens, float[] Sigma) RandomInputs(ModelManifest m, int batch, int length)
    {
        var random = new Random(1234 + batch);
        var tokens = new long[batch * length];
        for (int i = 0; i < tokens.Length; i++)
            tokens[i] = m.Graph.MaskId is int mask && random.NextDouble() < 0.5 ? mask : random.Next(m.Graph.MaskId is null ? m.Graph.States : m.Graph.Tokens);
        var noise = m.CreateNoise();
        var sigma = new float[batch];
        for (int i = 0; i < batch; i++) sigma[i] = (float)noise.TotalNoise(0.05 + 0.9 * random.NextDouble());
        return (tokens, sigma);
    }

    static void CheckSameModel(ModelManifest a, ModelManifest b, string where)
    {
        string Shape(ModelManifest x) => string.Create(CultureInfo.InvariantCulture,
            $"{x.Graph.Type} {x.Graph.States} states, length {x.Length}, {x.Model.NBlocks}×{x.Model.HiddenSize}, {x.Model.Parameters} parameters");
        if (Shape(a) != Shape(b))
            throw new SeddException($"--int8 {where} is {Shape(b)}, but --package is {Shape(a)}; both must be the same model", SeddException.Usage);
        if (b.Onnx.Precision != "int8")
            throw new SeddException($"--int8 {where} has precision {b.Onnx.Precision}, expected int8 (sedd-export --precision int8)", SeddException.Usage);
    }

    /// <summary>Max |a − b| over two equally long buffers.</summary>
    static double MaxAbsDiff(ReadOnlySpan<float> a, ReadOnlySpan<float> b)
    {
        double worst = 0;
        for (int i = 0; i < a.Length; i++)
        {
            double d = Math.Abs((double)a[i] - b[i]);
            if (double.IsNaN(d)) return double.NaN;
            worst = Math.Max(worst, d);
        }
        return worst;
    }
}
