using System.Diagnostics;
using System.Globalization;
using Google.Protobuf;
using Microsoft.ML.OnnxRuntime;
using Onnx;

namespace Sedd.Exporter.Precision;

/// <summary>
/// A small timing of the precision variants on ORT CPU (not a test, not BenchmarkDotNet): a ~5M-parameter
/// SEDD network with seeded random weights (hidden 192, 6 blocks, 4 heads, cond 128, vocab 4097,
/// length 128), each variant at batch 1 and 8, median of a few runs after a warm-up. Also prints which
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
        float[]? reference = null;
        foreach (var precision in PrecisionVariant.Names)
        {
            var model = PrecisionVariant.Convert(fp32, precision).ToByteArray();
            var optimized = Path.Combine(Path.GetTempPath(), $"sedd-precision-{Environment.ProcessId}-{precision}.onnx");
            try
            {
                using var session = Open(model, threads, optimized);
                log.WriteLine($"  {precision}: file {model.Length / 1e6:F1} MB; after ORT optimisation: {OperatorCounts(optimized)}");
                foreach (var batch in new[] { 1, 8 })
                {
                    var (ms, y) = Time(session, arch, batch, runs);
                    string error = "";
                    if (batch == 8 && precision == "fp32") reference = y;
                    else if (batch == 8 && reference != null)
                    {
                        double max = 0, scale = 0;
                        for (int i = 0; i < y.Length; i++) { max = Math.Max(max, Math.Abs(y[i] - reference[i])); scale = Math.Max(scale, Math.Abs(reference[i])); }
                        error = $", max|Δ| vs fp32 {max:E2} (max|y| {scale:F1})";
                    }
                    log.WriteLine($"    batch {batch}: {ms.ToString("F1", CultureInfo.InvariantCulture)} ms{error}");
                }
            }
            finally
            {
                File.Delete(optimized);
            }
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

    static (double Milliseconds, float[] Output) Time(InferenceSession session, ScoreNetworkArchitecture arch, int batch, int runs)
    {
        var random = new Random(batch);
        var indices = new long[batch * arch.MaxLength];
        for (int i = 0; i < indices.Length; i++) indices[i] = random.Next(arch.Vocab);
        var sigma = Enumerable.Range(0, batch).Select(b => 0.1f + b).ToArray();
        using var x = OrtValue.CreateTensorValueFromMemory(indices, [batch, arch.MaxLength]);
        using var s = OrtValue.CreateTensorValueFromMemory(sigma, [batch]);
        using var options = new RunOptions();
        string[] inputs = [ScoreNetworkGraph.IndicesName, ScoreNetworkGraph.SigmaName];
        float[] Once()
        {
            using var outputs = session.Run(options, inputs, [x, s], [ScoreNetworkGraph.OutputName]);
            return outputs.First().GetTensorDataAsSpan<float>().ToArray();
        }
        var y = Once();   // warm-up: first-run allocations and kernel selection
        var times = new double[runs];
        for (int r = 0; r < runs; r++)
        {
            var watch = Stopwatch.StartNew();
            Once();
            times[r] = watch.Elapsed.TotalMilliseconds;
        }
        Array.Sort(times);
        return (times[runs / 2], y);
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
