using System.Diagnostics;
using System.Globalization;
using Google.Protobuf;
using Microsoft.ML.OnnxRuntime;
using Onnx;

namespace Sedd.Exporter.Precision;

/// <summary>
/// A small timing of the precision variants on ORT CPU (not a test, not BenchmarkDotNet): a ~5M-parameter
/// SEDD network with seeded random weights (hidden 192, 6 blocks, 4 heads, cond 128, vocab 4097,
/// length 128), each variant at batch 1 and 8, median of a few interleaved runs after warm-ups. Also prints which
/// operators ORT's optimiser left in each graph (e.g. whether the int8 chain became DynamicQuantizeMatMul
/// and whether CPU runs the float16 MatMuls through inserted casts).
/// </summary>
public static class PrecisionBenchmark
{
    /// <summary>Builds, converts and times the three variants, one line per measurement on <paramref name="log"/>.</summary>
    /// <param name="log">Where the results go.</param>
    /// <param name="threads">ORT intra-op threads.</param>
    /// <param name="runs">Timed runs per configuration (the median is reported).</param>
    public static void Run(TextWriter log, int threads = 1, int runs = 5)
    {
        ArgumentNullException.ThrowIfNull(log);
        var arch = new ScoreNetworkArchitecture
        {
            Vocab = 4097, HiddenSize = 192, Heads = 4, CondDim = 128, Blocks = 6, MlpHidden = 768,
            ScaleBySigma = true, MaxLength = 128,
        };
        var weights = RandomScoreNetwork.Weights(arch, seed: 1);
        long parameters = weights.Values.Sum(t => t.ElementCount);
        var fp32 = ScoreNetworkGraph.Build(arch, weights);
        log.WriteLine($"precision benchmark: {parameters / 1e6:F2}M parameters, length {arch.MaxLength}, {threads} thread(s), " +
                      $"median of {runs} runs, {Environment.ProcessorCount} logical CPU(s), {System.Runtime.InteropServices.RuntimeInformation.OSDescription}");
        var sessions = new Dictionary<string, InferenceSession>(StringComparer.Ordinal);
        try
        {
            foreach (var precision in PrecisionVariant.Names)
            {
                var model = PrecisionVariant.Convert(fp32, precision).ToByteArray();
                var optimized = Path.Combine(Path.GetTempPath(), $"sedd-precision-{Environment.ProcessId}-{precision}.onnx");
                try
                {
                    sessions[precision] = Open(model, threads, optimized);
                    log.WriteLine($"  {precision}: file {model.Length / 1e6:F1} MB; after ORT optimisation: {OperatorCounts(optimized)}");
                }
                finally
                {
                    File.Delete(optimized);
                }
            }
            foreach (var batch in new[] { 1, 8 })
            {
                // all sessions warmed up first, then the variants take turns run by run, so a load change on
                // a shared machine (or the process's first-session costs) does not favour one of them
                var runners = sessions.ToDictionary(p => p.Key, p => new Runner(p.Value, arch, batch));
                var times = runners.ToDictionary(p => p.Key, _ => new double[runs]);
                for (int r = 0; r < runs; r++)
                    foreach (var (precision, runner) in runners)
                    {
                        var watch = Stopwatch.StartNew();
                        runner.Run();
                        times[precision][r] = watch.Elapsed.TotalMilliseconds;
                    }
                var reference = runners["fp32"].Output;
                foreach (var (precision, runner) in runners)
                {
                    Array.Sort(times[precision]);
                    double max = 0, scale = 0;
                    for (int i = 0; i < reference.Length; i++)
                    {
                        max = Math.Max(max, Math.Abs(runner.Output[i] - reference[i]));
                        scale = Math.Max(scale, Math.Abs(reference[i]));
                    }
                    log.WriteLine(string.Create(CultureInfo.InvariantCulture,
                        $"  batch {batch} {precision}: {times[precision][runs / 2]:F1} ms (min {times[precision][0]:F1}), max|Δ| vs fp32 {max:E2} of max|y| {scale:F1}"));
                    runner.Dispose();
                }
            }
        }
        finally
        {
            foreach (var session in sessions.Values) session.Dispose();
        }
    }

    static InferenceSession Open(byte[] model, int threads, string optimizedPath)
    {
        using var so = new SessionOptions
        {
            GraphOptimizationLevel = GraphOptimizationLevel.ORT_ENABLE_ALL,
            ExecutionMode = ExecutionMode.ORT_SEQUENTIAL,
            IntraOpNumThreads = threads,
            InterOpNumThreads = 1,
            OptimizedModelFilePath = optimizedPath,
        };
        so.AddSessionConfigEntry("session.intra_op.allow_spinning", "0");
        return new InferenceSession(model, so);
    }

    /// <summary>One session with fixed inputs (seeded tokens, σ̄ = 0.1 + row), warmed up on construction.</summary>
    sealed class Runner : IDisposable
    {
        static readonly string[] Inputs = [ScoreNetworkGraph.IndicesName, ScoreNetworkGraph.SigmaName];
        static readonly string[] Outputs = [ScoreNetworkGraph.OutputName];
        readonly InferenceSession session;
        readonly OrtValue x, s;
        readonly RunOptions options = new();

        public Runner(InferenceSession session, ScoreNetworkArchitecture arch, int batch)
        {
            this.session = session;
            var random = new Random(batch);
            var indices = new long[batch * arch.MaxLength];
            for (int i = 0; i < indices.Length; i++) indices[i] = random.Next(arch.Vocab);
            x = OrtValue.CreateTensorValueFromMemory(indices, [batch, arch.MaxLength]);
            s = OrtValue.CreateTensorValueFromMemory(Enumerable.Range(0, batch).Select(b => 0.1f + b).ToArray(), [batch]);
            Run();   // warm-up: first-run allocations and kernel selection
            Run();
        }

        public float[] Output { get; private set; } = [];

        public void Run()
        {
            using var outputs = session.Run(options, Inputs, [x, s], Outputs);
            Output = outputs.First().GetTensorDataAsSpan<float>().ToArray();
        }

        public void Dispose()
        {
            x.Dispose();
            s.Dispose();
            options.Dispose();
        }
    }

    /// <summary>"MatMul ×12, Cast ×40, ..." for the heavy operators of the saved optimised model.</summary>
    static string OperatorCounts(string path)
    {
        var model = ModelProto.Parser.ParseFrom(File.ReadAllBytes(path));
        string[] interesting = ["MatMul", "FusedMatMul", "Gemm", "Gather", "Cast", "MatMulInteger", "DynamicQuantizeLinear",
                                "DynamicQuantizeMatMul", "MatMulIntegerToFloat", "LayerNormalization", "Softmax"];
        return string.Join(", ", model.Graph.Node.GroupBy(n => (n.Domain.Length == 0 ? "" : n.Domain + ".") + n.OpType)
            .Where(g => interesting.Contains(g.Key.Split('.')[^1]))
            .OrderBy(g => g.Key, StringComparer.Ordinal)
            .Select(g => $"{g.Key} ×{g.Count()}"));
    }
}
