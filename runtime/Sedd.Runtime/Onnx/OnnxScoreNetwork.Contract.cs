using System.Globalization;
using Microsoft.ML.OnnxRuntime;
using Microsoft.ML.OnnxRuntime.Tensors;
using Sedd.Runtime.Package;

namespace Sedd.Runtime.Onnx;

// The graph's declared inputs and outputs against manifest.json (issue 4 point 2): names, element
// types, ranks, fixed sizes, and the log-score's last dimension = graph.states.
public sealed partial class OnnxScoreNetwork
{
    static (string Indices, string Sigma, string Output) CheckContract(InferenceSession session, ModelManifest manifest, string what)
    {
        var onnx = manifest.Onnx;
        Agree(what, "inputs", string.Join(", ", session.InputNames), string.Join(", ", onnx.Inputs.Select(i => i.Name)));
        Agree(what, "outputs", string.Join(", ", session.OutputNames), string.Join(", ", onnx.Outputs.Select(o => o.Name)));
        foreach (var input in onnx.Inputs) CheckTensor(what, "input", input, session.InputMetadata[input.Name]);
        foreach (var o in onnx.Outputs) CheckTensor(what, "output", o, session.OutputMetadata[o.Name]);

        // The sampler's contract (spec §5.7): indices int64 [B, L], σ̄ float32 [B], log-score float32 [B, L, D].
        var (indices, sigma, output) = (onnx.Inputs[0], onnx.Inputs[1], onnx.Outputs[0]);
        Expect(indices.Type == "int64" && indices.Shape.Count == 2, $"input {indices.Name} is {Describe(indices)}, expected int64 [batch, seq]");
        Expect(sigma.Type == "float32" && sigma.Shape.Count == 1, $"input {sigma.Name} is {Describe(sigma)}, expected float32 [batch]");
        Expect(output.Type == "float32" && output.Shape.Count == 3, $"output {output.Name} is {Describe(output)}, expected float32 [batch, seq, {manifest.Graph.States}]");
        var states = manifest.Graph.States.ToString(CultureInfo.InvariantCulture);
        Expect(output.Shape[2] == states, $"output {output.Name} has last dimension {output.Shape[2]}, but graph.states is {states}");
        var last = session.OutputMetadata[output.Name].Dimensions[^1];
        if (last != manifest.Graph.States)
            throw new SeddException($"{what} declares output {output.Name} with last dimension {Dim(last)} but manifest.json says graph.states = {states}", SeddException.BadInput);
        return (indices.Name, sigma.Name, output.Name);
    }

    static void CheckTensor(string what, string kind, TensorInfo declared, NodeMetadata actual)
    {
        if (!actual.IsTensor)
            throw new SeddException($"{what} declares {kind} {declared.Name} as a non-tensor but manifest.json says {Describe(declared)}", SeddException.BadInput);
        var type = TypeName(actual.ElementDataType);
        var dims = actual.Dimensions;
        var symbolic = actual.SymbolicDimensions;
        bool same = type == declared.Type && dims.Length == declared.Shape.Count;
        for (int k = 0; same && k < dims.Length; k++)
        {
            // A fixed size must match; a symbolic one must be symbolic in both (names may differ).
            bool declaredFixed = int.TryParse(declared.Shape[k], NumberStyles.None, CultureInfo.InvariantCulture, out int size);
            same = dims[k] >= 0 ? declaredFixed && size == dims[k] : !declaredFixed;
        }
        if (!same)
        {
            var found = $"{type} [{string.Join(", ", dims.Select((d, k) => d >= 0 ? d.ToString(CultureInfo.InvariantCulture) : Symbol(symbolic, k)))}]";
            throw new SeddException($"{what} declares {kind} {declared.Name} as {found} but manifest.json says {Describe(declared)}", SeddException.BadInput);
        }
    }

    static void Agree(string what, string kind, string actual, string declared)
    {
        if (actual != declared)
            throw new SeddException($"{what} declares {kind} ({actual}) but manifest.json says ({declared})", SeddException.BadInput);
    }

    static void Expect(bool ok, string message)
    {
        if (!ok) throw new SeddException($"manifest.json: {message}", SeddException.BadInput);
    }

    static string Describe(TensorInfo t) => $"{t.Type} [{string.Join(", ", t.Shape)}]";

    static string Symbol(string[] symbolic, int k) => k < symbolic.Length && !string.IsNullOrEmpty(symbolic[k]) ? symbolic[k] : "?";

    static string Dim(int d) => d >= 0 ? d.ToString(CultureInfo.InvariantCulture) : "symbolic";

    static string TypeName(TensorElementType t) => t switch
    {
        TensorElementType.Int64 => "int64",
        TensorElementType.Float => "float32",
        TensorElementType.Float16 => "float16",
        TensorElementType.Int32 => "int32",
        TensorElementType.Double => "float64",
        _ => t.ToString().ToLowerInvariant(),
    };
}
