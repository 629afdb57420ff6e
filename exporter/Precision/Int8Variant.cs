using System.Runtime.InteropServices;
using Google.Protobuf;
using Onnx;
using static Sedd.Exporter.Precision.PrecisionVariant;
using DataType = Onnx.TensorProto.Types.DataType;

namespace Sedd.Exporter.Precision;

/// <summary>
/// The int8 variant for CPU: dynamic quantization of the token-wise linear layers (attention qkv and
/// output projection, both MLP layers, the output layer), i.e. every <c>MatMul(x, Transpose(W))</c> of
/// <c>ScoreNetworkGraph.Linear</c> whose W has at least <see cref="DefaultMinElements"/> elements.
/// <para>
/// Weights: symmetric per-output-channel int8, q = round(W / s_n), s_n = max|W[n, :]| / <see cref="WeightLimit"/>,
/// stored pre-transposed [in, out] as <c>&lt;name&gt;_quantized</c> with float32 scales <c>&lt;name&gt;_scale</c> [out]
/// (zero point 0, so MatMulInteger needs none). Activations: per-tensor uint8 at run time. Per layer,
/// with standard ai.onnx ops only, in the order ORT's own quantizer writes them:
/// <code>
/// (xq, xs, xz) = DynamicQuantizeLinear(x)
/// y = Mul(Cast&lt;float&gt;(MatMulInteger(xq, Wq, xz)), Mul(xs, s))
/// </code>
/// The activation scale is per tensor, i.e. shared by the rows of a batch, so a row's output depends
/// slightly (within the quantization noise) on the other rows it is batched with.
/// ORT CPU (EXTENDED level) fuses this chain into com.microsoft.DynamicQuantizeMatMul (checked on the
/// optimised graph, see <see cref="PrecisionBenchmark"/>), so emitting the
/// contrib op ourselves would gain nothing and lose portability. This variant is meant for the CPU
/// provider; on GPUs use fp16. Unverified here (no GPU): ORT's CUDA provider is not expected to run
/// DynamicQuantizeLinear (ORT would place those nodes on the CPU, with copies), DirectML has
/// DynamicQuantizeLinear/MatMulInteger kernels of its own.
/// </para>
/// <para>
/// The embedding Gather, the adaLN and σ-MLP Gemms (one row per sequence, negligible work, and their
/// outputs gate every residual) and attention's activation × activation MatMuls stay float32.
/// </para>
/// </summary>
static class Int8Variant
{
    /// <summary>Smallest weight (elements) worth quantizing: below it the quantize/dequantize overhead dominates.</summary>
    internal const int DefaultMinElements = 4096;

    /// <summary>
    /// Largest |q| of a weight: 7 bits, not 127. On AVX2/AVX-512 CPUs without VNNI, MLAS computes
    /// uint8 × int8 with VPMADDUBSW, which adds two products in int16 and saturates when
    /// 2 · 255 · |q| exceeds 32767 (ORT's quantization docs call this "reduce_range"). 63 keeps
    /// 2 · 255 · 63 = 32130 exact on every x64 CPU at the cost of one bit of weight resolution.
    /// Measured on this AVX2 box: ±127 made the error vs float32 10–30× larger (random 64-wide model
    /// 2.5e-2 → 0.66 absolute; 5M model 3.1e-2 → 0.83), ±63 keeps it at the quantization-noise level.
    /// </summary>
    internal const int WeightLimit = 63;

    /// <summary>Rewrites <paramref name="graph"/> (a private clone) in place.</summary>
    /// <param name="graph">The graph.</param>
    /// <param name="minElements">Quantize only weights with at least this many elements.</param>
    /// <param name="cancel">Checked before each weight is quantized.</param>
    internal static void Apply(GraphProto graph, int minElements, CancellationToken cancel = default)
    {
        var initializers = graph.Initializer.ToDictionary(t => t.Name, StringComparer.Ordinal);
        var consumers = Consumers(graph);
        var producers = new Dictionary<string, NodeProto>(StringComparer.Ordinal);
        foreach (var n in graph.Node)
            foreach (var o in n.Output) producers[o] = n;
        var outputs = graph.Output.Select(o => o.Name).ToHashSet(StringComparer.Ordinal);

        // MatMul → its weight's Transpose, for each quantizable linear layer
        var linear = new Dictionary<NodeProto, NodeProto>();
        foreach (var node in graph.Node)
        {
            if (node.OpType != "MatMul" || node.Domain.Length != 0
                || !producers.TryGetValue(node.Input[1], out var transpose) || transpose.OpType != "Transpose"
                || !initializers.TryGetValue(transpose.Input[0], out var w) || w.DataType != (int)DataType.Float
                || w.Dims.Count != 2 || ElementCount(w) < minElements || !IsSwap(transpose)
                || outputs.Contains(transpose.Output[0]) || consumers[transpose.Output[0]].Count != 1)
                continue;
            linear[node] = transpose;
        }
        var removedTransposes = linear.Values.ToHashSet();

        var quantized = new Dictionary<string, (string Weight, string Scale)>(StringComparer.Ordinal);
        var dynamic = new Dictionary<string, (string Q, string Scale, string Zero)>(StringComparer.Ordinal);
        var nodes = new List<NodeProto>(graph.Node.Count * 2);
        foreach (var node in graph.Node)
        {
            if (removedTransposes.Contains(node)) continue;
            if (!linear.TryGetValue(node, out var transpose))
            {
                nodes.Add(node);
                continue;
            }
            var name = transpose.Input[0];
            if (!quantized.TryGetValue(name, out var wq))
            {
                cancel.ThrowIfCancellationRequested();
                quantized[name] = wq = Quantize(graph, initializers[name]);
            }
            var x = node.Input[0];
            var scope = $"{node.Name}/int8";
            if (!dynamic.TryGetValue(x, out var xq))
            {
                xq = ($"{scope}/x_quantized", $"{scope}/x_scale", $"{scope}/x_zero_point");
                nodes.Add(Node("DynamicQuantizeLinear", $"{scope}/DynamicQuantizeLinear", [x], xq.Q, xq.Scale, xq.Zero));
                dynamic[x] = xq;
            }
            nodes.Add(Node("MatMulInteger", $"{scope}/MatMulInteger", [xq.Q, wq.Weight, xq.Zero], $"{scope}/acc"));
            nodes.Add(Cast($"{scope}/acc", $"{scope}/acc_float", DataType.Float, $"{scope}/Cast"));
            nodes.Add(Node("Mul", $"{scope}/Mul_scales", [xq.Scale, wq.Scale], $"{scope}/scale"));
            nodes.Add(Node("Mul", $"{scope}/Mul", [$"{scope}/acc_float", $"{scope}/scale"], node.Output[0]));
        }
        graph.Node.Clear();
        graph.Node.AddRange(nodes);

        // the float32 weights are gone unless something else still reads them
        var stillRead = Consumers(graph);
        foreach (var name in quantized.Keys)
            if (!stillRead.ContainsKey(name) && !outputs.Contains(name)) graph.Initializer.Remove(initializers[name]);
    }

    static bool IsSwap(NodeProto transpose)
    {
        var perm = transpose.Attribute.FirstOrDefault(a => a.Name == "perm");
        return perm == null || perm.Ints.SequenceEqual([1L, 0L]);   // no perm reverses the axes: the same for rank 2
    }

    /// <summary>Adds <c>&lt;name&gt;_quantized</c> (int8 [in, out]) and <c>&lt;name&gt;_scale</c> (float32 [out]) for W [out, in].</summary>
    static (string Weight, string Scale) Quantize(GraphProto graph, TensorProto w)
    {
        var values = Floats(w);
        int rows = checked((int)w.Dims[0]), cols = checked((int)w.Dims[1]);   // rows = outputs n, cols = inputs k
        var q = new sbyte[rows * cols];
        var scale = new float[rows];
        for (int n = 0; n < rows; n++)
        {
            var row = values.AsSpan(n * cols, cols);
            float max = 0;
            foreach (var v in row) max = Math.Max(max, Math.Abs(v));
            float s = max > 0 ? max / WeightLimit : 1f;   // an all-zero row quantizes to zeros with any scale
            scale[n] = s;
            for (int k = 0; k < cols; k++)
                q[k * rows + n] = (sbyte)Math.Clamp(MathF.Round(row[k] / s, MidpointRounding.ToEven), -WeightLimit, WeightLimit);
        }
        var weight = new TensorProto { Name = w.Name + "_quantized", DataType = (int)DataType.Int8, RawData = ByteString.CopyFrom(MemoryMarshal.AsBytes(q.AsSpan())) };
        weight.Dims.AddRange([cols, rows]);
        var scales = new TensorProto { Name = w.Name + "_scale", DataType = (int)DataType.Float, RawData = ByteString.CopyFrom(MemoryMarshal.AsBytes(scale.AsSpan())) };
        scales.Dims.Add(rows);
        graph.Initializer.Add(weight);
        graph.Initializer.Add(scales);
        return (weight.Name, scales.Name);
    }
}
