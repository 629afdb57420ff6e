using System.Runtime.InteropServices;
using Onnx;
using Sedd.Runtime;
using DataType = Onnx.TensorProto.Types.DataType;

namespace Sedd.Exporter.Precision;

/// <summary>
/// Rewrites the float32 score network of <see cref="ScoreNetworkGraph.Build"/> into a reduced-precision
/// variant with the same inputs (<c>indices</c> int64, <c>sigma</c> float32) and the same float32 output
/// (<c>log_score</c>), so the runtime feeds and reads every variant alike:
/// <list type="bullet">
/// <item><c>fp32</c>: the model itself.</item>
/// <item><c>fp16</c> (GPU providers): weights of MatMul/Gemm/Gather stored as float16 and those ops run in
/// float16; LayerNorm, Softmax, GELU, rotary, residuals and the output stay float32 (see <see cref="Float16Variant"/>).</item>
/// <item><c>int8</c> (CPU): dynamic quantization of the large token-wise MatMul weights (see <see cref="Int8Variant"/>).</item>
/// </list>
/// The input model is never modified; the result shares the untouched initializers' bytes with it.
/// </summary>
public static class PrecisionVariant
{
    /// <summary>The precision names <see cref="Convert"/> accepts.</summary>
    public static IReadOnlyList<string> Names { get; } = ["fp32", "fp16", "int8"];

    /// <summary>metadata_props key recording the variant (absent in a plain float32 export).</summary>
    public const string MetadataKey = "sedd.precision";

    /// <summary>
    /// The <paramref name="precision"/> variant of <paramref name="fp32"/> ("fp32" returns the same instance).
    /// Throws <see cref="SeddException"/> (exit code 1) for an unknown precision and (exit code 2) for a model
    /// whose weights are not held in memory as float32 (external data, other types).
    /// </summary>
    /// <param name="fp32">A float32 model as built by <see cref="ScoreNetworkGraph.Build"/>.</param>
    /// <param name="precision">"fp32", "fp16" or "int8".</param>
    /// <param name="cancel">Checked between weights.</param>
    public static ModelProto Convert(ModelProto fp32, string precision, CancellationToken cancel = default)
    {
        ArgumentNullException.ThrowIfNull(fp32);
        if (precision == "fp32") return fp32;
        if (precision is not ("fp16" or "int8"))
            throw new SeddException($"unknown precision '{precision}'; expected one of {string.Join(", ", Names)}", SeddException.Usage);
        var model = fp32.Clone();   // deep copy of the messages; the ByteStrings (immutable) are shared
        if (precision == "fp16") Float16Variant.Apply(model.Graph, cancel);
        else Int8Variant.Apply(model.Graph, Int8Variant.DefaultMinElements, cancel);
        var entry = model.MetadataProps.FirstOrDefault(p => p.Key == MetadataKey);
        if (entry != null) entry.Value = precision;
        else model.MetadataProps.Add(new StringStringEntryProto { Key = MetadataKey, Value = precision });
        return model;
    }

    /// <summary>For each value name, the nodes reading it (a node reading it twice is listed twice).</summary>
    internal static Dictionary<string, List<NodeProto>> Consumers(GraphProto graph)
    {
        var consumers = new Dictionary<string, List<NodeProto>>(StringComparer.Ordinal);
        foreach (var node in graph.Node)
            foreach (var input in node.Input)
            {
                if (input.Length == 0) continue;
                if (!consumers.TryGetValue(input, out var list)) consumers[input] = list = [];
                list.Add(node);
            }
        return consumers;
    }

    /// <summary>The float32 values of an in-memory initializer (raw_data or float_data).</summary>
    internal static float[] Floats(TensorProto t)
    {
        if (t.DataType != (int)DataType.Float)
            throw new SeddException($"initializer {t.Name} has ONNX data type {t.DataType}, expected float32 (1)", SeddException.BadInput);
        if (t.DataLocation == TensorProto.Types.DataLocation.External)
            throw new SeddException($"initializer {t.Name} is stored externally; convert the precision before writing the file", SeddException.BadInput);
        return t.RawData.Length > 0 ? MemoryMarshal.Cast<byte, float>(t.RawData.Span).ToArray() : [.. t.FloatData];
    }

    /// <summary>Number of elements of an initializer from its dims.</summary>
    internal static long ElementCount(TensorProto t) => t.Dims.Aggregate(1L, (a, d) => a * d);

    /// <summary>A Cast node <paramref name="input"/> → <paramref name="output"/> to <paramref name="to"/>.</summary>
    internal static NodeProto Cast(string input, string output, DataType to, string name)
    {
        var node = new NodeProto { OpType = "Cast", Name = name };
        node.Input.Add(input);
        node.Output.Add(output);
        node.Attribute.Add(OnnxGraphBuilder.Attr("to", (long)to));
        return node;
    }

    /// <summary>A node of the ai.onnx domain.</summary>
    internal static NodeProto Node(string op, string name, string[] inputs, params string[] outputs)
    {
        var node = new NodeProto { OpType = op, Name = name };
        node.Input.AddRange(inputs);
        node.Output.AddRange(outputs);
        return node;
    }
}
