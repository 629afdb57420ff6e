using System.Runtime.InteropServices;
using Google.Protobuf;
using Onnx;
using static Sedd.Exporter.Precision.PrecisionVariant;
using DataType = Onnx.TensorProto.Types.DataType;

namespace Sedd.Exporter.Precision;

/// <summary>
/// The float16 variant for GPU providers: every MatMul and Gemm, and the embedding Gather, runs in
/// float16 on float16 weights; everything between them (LayerNorm, Softmax, GELU, rotary products,
/// adaLN modulation, residual adds, σ scaling, the output) stays float32.
/// <para>
/// How: the float initializers those ops read (directly, or through the Transpose that
/// <c>ScoreNetworkGraph.Linear</c> puts before MatMul) are stored as FLOAT16 under their own names;
/// activations are Cast to float16 before the op and its output is Cast back to float32 under the
/// original value name, so the rest of the graph is untouched. A value produced by one converted op
/// and read only by converted ops (none in today's graph, but e.g. a MatMul chain) skips the round
/// trip. The only precision lost is float16 rounding of the weights (2⁻¹¹ relative) and of the
/// op inputs/outputs; accumulation inside the ops is the provider's (float32 on CUDA/DirectML for
/// MatMul). ORT CPU 1.31 on x64 has no float16 MatMul/Gemm kernel: it inserts casts itself, then folds
/// the weights back to float32 and drops the Cast pairs (the optimised graph keeps a single Cast), so on
/// CPU this variant runs as fast as fp32 with float16-rounded weights (measured: same time, 8e-4 max|Δ|).
/// </para>
/// The graph is ScoreNetworkGraph's: MatMul and Gemm there always take float operands.
/// </summary>
static class Float16Variant
{
    /// <summary>Ops that run in float16 and, per op, which input slots carry floats.</summary>
    static readonly Dictionary<string, int[]> FloatSlots = new(StringComparer.Ordinal)
    {
        ["MatMul"] = [0, 1],
        ["Gemm"] = [0, 1, 2],
        ["Gather"] = [0],   // the table; slot 1 holds int64 indices
    };

    /// <summary>Rewrites <paramref name="graph"/> (a private clone) in place.</summary>
    internal static void Apply(GraphProto graph, CancellationToken cancel = default)
    {
        var initializers = graph.Initializer.ToDictionary(t => t.Name, StringComparer.Ordinal);
        var consumers = Consumers(graph);
        var outputs = graph.Output.Select(o => o.Name).ToHashSet(StringComparer.Ordinal);

        // decided before any initializer changes type: a Gather is converted only when it looks up a float table
        var targets = graph.Node.Where(n => n.Domain.Length == 0 && FloatSlots.ContainsKey(n.OpType)
            && (n.OpType != "Gather" || initializers.TryGetValue(n.Input[0], out var t) && t.DataType == (int)DataType.Float)).ToHashSet();
        bool IsTarget(NodeProto n) => targets.Contains(n);
        bool ReadsAsFloat16(NodeProto n, string value)
        {
            if (!IsTarget(n)) return false;
            var slots = FloatSlots[n.OpType];
            for (int i = 0; i < n.Input.Count; i++)
                if (n.Input[i] == value && !slots.Contains(i)) return false;
            return true;
        }
        bool OnlyFloat16Readers(string value) =>
            !outputs.Contains(value) && consumers.TryGetValue(value, out var readers) && readers.All(r => ReadsAsFloat16(r, value));

        // Weight transposes (Transpose of a float initializer read only by converted ops) move to float16 with the weight.
        var weightTransposes = graph.Node
            .Where(n => n.OpType == "Transpose" && n.Domain.Length == 0 && initializers.TryGetValue(n.Input[0], out var t)
                        && t.DataType == (int)DataType.Float && OnlyFloat16Readers(n.Output[0]))
            .ToHashSet();
        bool WeightReader(NodeProto n, string value) => weightTransposes.Contains(n) || ReadsAsFloat16(n, value);

        // value (float32 name) → its float16 counterpart, once it exists
        var half = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var t in graph.Initializer)
            if (t.DataType == (int)DataType.Float && !outputs.Contains(t.Name)
                && consumers.TryGetValue(t.Name, out var readers) && readers.All(r => WeightReader(r, t.Name)))
            {
                cancel.ThrowIfCancellationRequested();
                ToFloat16InPlace(t);
                half[t.Name] = t.Name;
            }

        var nodes = new List<NodeProto>(graph.Node.Count * 2);
        int counter = 0;
        foreach (var node in graph.Node)
        {
            if (weightTransposes.Contains(node))
            {
                if (!half.TryGetValue(node.Input[0], out var weight16))
                {
                    // the weight is shared with a float32 reader: transpose a float16 copy made by a Cast
                    weight16 = node.Input[0] + "_fp16";
                    nodes.Add(Cast(node.Input[0], weight16, DataType.Float16, $"precision/Cast_fp16_{counter++}"));
                    half[node.Input[0]] = weight16;
                }
                node.Input[0] = weight16;
                nodes.Add(node);
                half[node.Output[0]] = node.Output[0];
                continue;
            }
            if (!IsTarget(node))
            {
                nodes.Add(node);
                continue;
            }
            foreach (var slot in FloatSlots[node.OpType])
            {
                if (slot >= node.Input.Count || node.Input[slot].Length == 0) continue;
                var value = node.Input[slot];
                if (!half.TryGetValue(value, out var h))
                {
                    h = value + "_fp16";
                    nodes.Add(Cast(value, h, DataType.Float16, $"precision/Cast_fp16_{counter++}"));
                    half[value] = h;
                }
                node.Input[slot] = h;
            }
            var output = node.Output[0];
            var output16 = output + "_fp16";
            node.Output[0] = output16;
            nodes.Add(node);
            half[output] = output16;
            if (!OnlyFloat16Readers(output))
                nodes.Add(Cast(output16, output, DataType.Float, $"precision/Cast_fp32_{counter++}"));
        }
        graph.Node.Clear();
        graph.Node.AddRange(nodes);
    }

    /// <summary>Replaces a float32 initializer's contents by their float16 rounding (round to nearest even).</summary>
    static void ToFloat16InPlace(TensorProto t)
    {
        var values = Floats(t);
        var halves = new Half[values.Length];
        for (int i = 0; i < values.Length; i++) halves[i] = (Half)values[i];
        t.FloatData.Clear();
        t.RawData = ByteString.CopyFrom(MemoryMarshal.AsBytes(halves.AsSpan()));
        t.DataType = (int)DataType.Float16;
    }
}
