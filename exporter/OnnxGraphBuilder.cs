using System.Runtime.InteropServices;
using Google.Protobuf;
using Onnx;
using AttrType = Onnx.AttributeProto.Types.AttributeType;
using DataType = Onnx.TensorProto.Types.DataType;
using Dim = Onnx.TensorShapeProto.Types.Dimension;

namespace Sedd.Exporter;

/// <summary>
/// Appends nodes, initializers and constants to an ONNX <see cref="GraphProto"/> one call at a time,
/// so a network reads as a sequence of operator calls on value names. Every node gets a unique
/// output name under the current <see cref="Scope"/> (e.g. <c>blocks.0/attn/MatMul_41</c>), which
/// keeps ORT's profiles and error messages readable.
/// </summary>
public sealed class OnnxGraphBuilder
{
    readonly Dictionary<string, string> constants = [];
    int counter;

    /// <summary>Starts an empty graph.</summary>
    /// <param name="name">Graph name.</param>
    public OnnxGraphBuilder(string name) => Graph = new GraphProto { Name = name };

    /// <summary>The graph being built.</summary>
    public GraphProto Graph { get; }

    /// <summary>Prefix of the names of nodes emitted from now on (e.g. <c>blocks.3/mlp</c>).</summary>
    public string Scope { get; set; } = "";

    /// <summary>Declares a graph input with symbolic (string) or fixed (int) dimensions.</summary>
    /// <param name="name">Input name.</param>
    /// <param name="type">Element type.</param>
    /// <param name="dims">Each a <see cref="string"/> (dim_param) or an <see cref="int"/> (dim_value).</param>
    public string Input(string name, DataType type, params object[] dims)
    {
        Graph.Input.Add(ValueInfo(name, type, dims));
        return name;
    }

    /// <summary>Declares <paramref name="value"/> a graph output under <paramref name="name"/> (an Identity node renames it).</summary>
    /// <param name="value">Value to expose.</param>
    /// <param name="name">Output name.</param>
    /// <param name="type">Element type.</param>
    /// <param name="dims">Each a <see cref="string"/> (dim_param) or an <see cref="int"/> (dim_value).</param>
    public void Output(string value, string name, DataType type, params object[] dims)
    {
        var node = new NodeProto { OpType = "Identity", Name = name };
        node.Input.Add(value);
        node.Output.Add(name);
        Graph.Node.Add(node);
        Graph.Output.Add(ValueInfo(name, type, dims));
    }

    /// <summary>Emits one single-output node and returns its output name.</summary>
    /// <param name="op">ai.onnx operator type.</param>
    /// <param name="inputs">Input value names ("" for an omitted optional input).</param>
    /// <param name="attributes">Attributes (see the <c>Attr</c> helpers).</param>
    public string Op(string op, string[] inputs, params AttributeProto[] attributes) => Ops(op, inputs, 1, attributes)[0];

    /// <summary>Emits one node with <paramref name="outputs"/> outputs and returns their names.</summary>
    /// <param name="op">ai.onnx operator type.</param>
    /// <param name="inputs">Input value names ("" for an omitted optional input).</param>
    /// <param name="outputs">Number of outputs.</param>
    /// <param name="attributes">Attributes (see the <c>Attr</c> helpers).</param>
    public string[] Ops(string op, string[] inputs, int outputs, params AttributeProto[] attributes)
    {
        var baseName = $"{(Scope.Length == 0 ? "" : Scope + "/")}{op}_{counter++}";
        var node = new NodeProto { OpType = op, Name = baseName };
        node.Input.AddRange(inputs);
        var names = new string[outputs];
        for (int i = 0; i < outputs; i++)
        {
            names[i] = outputs == 1 ? baseName : $"{baseName}:{i}";
            node.Output.Add(names[i]);
        }
        node.Attribute.AddRange(attributes);
        Graph.Node.Add(node);
        return names;
    }

    /// <summary>Adds a float32 initializer from raw little-endian bytes (zero-copy) and returns its name.</summary>
    /// <param name="name">Initializer name (SEDD parameter names are kept, spec §5.8).</param>
    /// <param name="raw">Little-endian float32 bytes, row-major.</param>
    /// <param name="dims">Shape.</param>
    public string Initializer(string name, byte[] raw, params long[] dims)
    {
        var t = new TensorProto { Name = name, DataType = (int)DataType.Float, RawData = UnsafeByteOperations.UnsafeWrap(raw) };
        t.Dims.AddRange(dims);
        Graph.Initializer.Add(t);
        return name;
    }

    /// <summary>Adds a float32 initializer (copied) and returns its name.</summary>
    /// <param name="name">Initializer name.</param>
    /// <param name="values">Values, row-major.</param>
    /// <param name="dims">Shape.</param>
    public string Initializer(string name, ReadOnlySpan<float> values, params long[] dims) =>
        Initializer(name, MemoryMarshal.AsBytes(values).ToArray(), dims);

    /// <summary>A float32 constant (shape <paramref name="dims"/>; a scalar when none), shared between uses.</summary>
    /// <param name="values">Values, row-major.</param>
    /// <param name="dims">Shape.</param>
    public string ConstF(float[] values, params long[] dims) =>
        Constant(DataType.Float, MemoryMarshal.AsBytes(values.AsSpan()).ToArray(), dims);

    /// <summary>A float32 scalar constant.</summary>
    /// <param name="value">Value.</param>
    public string ConstF(float value) => ConstF([value]);

    /// <summary>An int64 1-D constant (axes, shapes, slice bounds), shared between uses.</summary>
    /// <param name="values">Values.</param>
    public string ConstI64(params long[] values) =>
        Constant(DataType.Int64, MemoryMarshal.AsBytes(values.AsSpan()).ToArray(), values.Length);

    string Constant(DataType type, byte[] raw, params long[] dims)
    {
        var key = $"{(int)type}|{string.Join(',', dims)}|{Convert.ToBase64String(raw)}";
        if (constants.TryGetValue(key, out var existing)) return existing;
        var name = $"const_{constants.Count}";
        var t = new TensorProto { Name = name, DataType = (int)type, RawData = ByteString.CopyFrom(raw) };
        t.Dims.AddRange(dims);
        Graph.Initializer.Add(t);
        constants[key] = name;
        return name;
    }

    /// <summary>An integer attribute.</summary>
    /// <param name="name">Attribute name.</param>
    /// <param name="value">Value.</param>
    public static AttributeProto Attr(string name, long value) => new() { Name = name, Type = AttrType.Int, I = value };

    /// <summary>A float attribute.</summary>
    /// <param name="name">Attribute name.</param>
    /// <param name="value">Value.</param>
    public static AttributeProto Attr(string name, float value) => new() { Name = name, Type = AttrType.Float, F = value };

    /// <summary>An integer-list attribute.</summary>
    /// <param name="name">Attribute name.</param>
    /// <param name="values">Values.</param>
    public static AttributeProto Attr(string name, long[] values)
    {
        var a = new AttributeProto { Name = name, Type = AttrType.Ints };
        a.Ints.AddRange(values);
        return a;
    }

    /// <summary>A tensor attribute holding one float32 value (ConstantOfShape's <c>value</c>).</summary>
    /// <param name="name">Attribute name.</param>
    /// <param name="value">The single element.</param>
    public static AttributeProto AttrScalarTensor(string name, float value)
    {
        var t = new TensorProto { DataType = (int)DataType.Float, RawData = ByteString.CopyFrom(BitConverter.GetBytes(value)) };
        t.Dims.Add(1);
        return new AttributeProto { Name = name, Type = AttrType.Tensor, T = t };
    }

    static ValueInfoProto ValueInfo(string name, DataType type, object[] dims)
    {
        var shape = new TensorShapeProto();
        foreach (var d in dims)
            shape.Dim.Add(d switch
            {
                string s => new Dim { DimParam = s },
                int n => new Dim { DimValue = n },
                long n => new Dim { DimValue = n },
                _ => throw new ArgumentException($"dimension {d} must be a string or an integer", nameof(dims)),
            });
        return new ValueInfoProto
        {
            Name = name,
            Type = new TypeProto { TensorType = new TypeProto.Types.Tensor { ElemType = (int)type, Shape = shape } },
        };
    }
}
