using System.Globalization;
using System.Runtime.InteropServices;
using Onnx;
using Sedd.Runtime;
using Sedd.Runtime.IO;
using static Sedd.Exporter.OnnxGraphBuilder;
using DataType = Onnx.TensorProto.Types.DataType;

namespace Sedd.Exporter;

/// <summary>
/// Builds the SEDD score network (spec §5) as an ONNX graph, node by node, from its weights:
/// <c>indices</c> int64 [batch, seq] and <c>sigma</c> float32 [batch] (total noise σ̄) →
/// <c>log_score</c> float32 [batch, seq, vocab], with batch and seq dynamic (seq ≤ MaxLength).
/// Only ai.onnx opset-17 operators are used, so the file runs on every ORT execution provider.
/// Initializers carry the PyTorch parameter names (spec §5.8), in their [out, in] layout.
/// </summary>
public sealed partial class ScoreNetworkGraph
{
    /// <summary>ai.onnx opset of the exported graph (LayerNormalization needs 17).</summary>
    public const int Opset = 17;

    /// <summary>IR version matching opset 17.</summary>
    public const int IrVersion = 8;

    /// <summary>Name of the token input, int64 [batch, seq].</summary>
    public const string IndicesName = "indices";

    /// <summary>Name of the noise input, float32 [batch].</summary>
    public const string SigmaName = "sigma";

    /// <summary>Name of the output, float32 [batch, seq, vocab].</summary>
    public const string OutputName = "log_score";

    readonly ScoreNetworkArchitecture arch;
    readonly IReadOnlyDictionary<string, SafeTensor> weights;
    readonly OnnxGraphBuilder g = new("sedd_score_network");
    readonly HashSet<string> added = new(StringComparer.Ordinal);

    ScoreNetworkGraph(ScoreNetworkArchitecture arch, IReadOnlyDictionary<string, SafeTensor> weights)
    {
        this.arch = arch;
        this.weights = weights;
    }

    /// <summary>
    /// The ONNX model of the network with these weights. The weights are checked against
    /// <paramref name="architecture"/> first (<see cref="SeddException"/> on a missing or mis-shaped tensor).
    /// </summary>
    /// <param name="architecture">Sizes (see <see cref="ScoreNetworkArchitecture.Infer"/>).</param>
    /// <param name="weights">Tensors by state_dict name; F32 tensors are wrapped without a copy, F16/BF16/F64 converted.</param>
    /// <param name="metadata">Extra metadata_props (graph type, noise, checkpoint hash, ...); the architecture is always added.</param>
    public static ModelProto Build(ScoreNetworkArchitecture architecture, IReadOnlyDictionary<string, SafeTensor> weights,
        IReadOnlyDictionary<string, string>? metadata = null)
    {
        ArgumentNullException.ThrowIfNull(architecture);
        ArgumentNullException.ThrowIfNull(weights);
        architecture.Validate();
        architecture.CheckWeights(weights);
        var graph = new ScoreNetworkGraph(architecture, weights).Emit();
        var model = new ModelProto
        {
            IrVersion = IrVersion,
            ProducerName = "sedd-export",
            ProducerVersion = typeof(ScoreNetworkGraph).Assembly.GetName().Version?.ToString() ?? "0",
            DocString = "SEDD score network (score-entropy discrete diffusion, Lou/Meng/Ermon 2024): log-score of every state at every position.",
            Graph = graph,
        };
        model.OpsetImport.Add(new OperatorSetIdProto { Domain = "", Version = Opset });
        foreach (var (k, v) in ArchitectureMetadata(architecture)) model.MetadataProps.Add(new StringStringEntryProto { Key = k, Value = v });
        if (metadata != null)
            foreach (var (k, v) in metadata.OrderBy(p => p.Key, StringComparer.Ordinal))
                model.MetadataProps.Add(new StringStringEntryProto { Key = k, Value = v });
        return model;
    }

    /// <summary>The metadata_props that describe the architecture (keys prefixed <c>sedd.</c>).</summary>
    /// <param name="a">Architecture.</param>
    public static IEnumerable<KeyValuePair<string, string>> ArchitectureMetadata(ScoreNetworkArchitecture a)
    {
        ArgumentNullException.ThrowIfNull(a);
        static string S(int v) => v.ToString(CultureInfo.InvariantCulture);
        yield return new("sedd.vocab", S(a.Vocab));
        yield return new("sedd.hidden_size", S(a.HiddenSize));
        yield return new("sedd.n_heads", S(a.Heads));
        yield return new("sedd.cond_dim", S(a.CondDim));
        yield return new("sedd.n_blocks", S(a.Blocks));
        yield return new("sedd.max_length", S(a.MaxLength));
        yield return new("sedd.scale_by_sigma", a.ScaleBySigma ? "true" : "false");
        yield return new("sedd.time_independent", a.TimeIndependent ? "true" : "false");
        yield return new("sedd.parameterization", a.Parameterization);
    }

    GraphProto Emit()
    {
        var indices = g.Input(IndicesName, DataType.Int64, "batch", "seq");
        var sigma = g.Input(SigmaName, DataType.Float, "batch");

        g.Scope = "vocab_embed";
        var x = g.Op("Gather", [Weight("vocab_embed.embedding"), indices], Attr("axis", 0L));   // (B, L, H)

        g.Scope = "sigma_map";
        var c = Conditioning(sigma);                                                             // (B, C)

        g.Scope = "rotary_emb";
        var (cos, sin) = RotaryTables(indices);                                                  // (L, d) each

        for (int i = 0; i < arch.Blocks; i++)
        {
            g.Scope = $"blocks.{i}";
            x = Block($"blocks.{i}.", x, c, cos, sin);                                          // (B, L, H)
        }

        g.Scope = "output_layer";
        var y = FinalLayer(x, c);                                                                // (B, L, vocab)

        g.Scope = "postprocess";
        if (arch.Normalized) y = NormalizedLogScore(y, sigma, indices);
        else if (arch.ScaleBySigma) y = g.Op("Sub", [y, LogScale(sigma, centre: true)]);
        y = ZeroAtOwnToken(y, indices);
        g.Scope = "";
        g.Output(y, OutputName, DataType.Float, "batch", "seq", arch.Vocab);
        return g.Graph;
    }

    /// <summary>
    /// spec §5.3: c = SiLU(Linear(SiLU(Linear(f)))), f = [cos(σ ω_k), sin(σ ω_k)], ω_k = exp(−ln(10000)·k/half).
    /// ω is computed in double and stored; the products and Cos/Sin run in float32.
    /// </summary>
    string Conditioning(string sigma)
    {
        int half = arch.FrequencyEmbeddingSize / 2;
        var omega = new float[half];
        for (int k = 0; k < half; k++) omega[k] = (float)Math.Exp(-Math.Log(10000) * k / half);
        var s = arch.TimeIndependent
            ? g.Op("ConstantOfShape", [g.Op("Shape", [sigma])], AttrScalarTensor("value", 0f))
            : sigma;
        var arg = g.Op("Mul", [g.Op("Unsqueeze", [s, g.ConstI64(1)]), g.Initializer("sigma_map.omega", omega, half)]);   // (B, half)
        var f = g.Op("Concat", [g.Op("Cos", [arg]), g.Op("Sin", [arg])], Attr("axis", 1L));                                // (B, 2·half), cos first
        var h = SiLU(Gemm(f, "sigma_map.mlp.0"));
        return SiLU(Gemm(h, "sigma_map.mlp.2"));                                                                           // second SiLU
    }

    /// <summary>spec §5.6: (shift, scale) = split(adaLN(c)); y = Linear(LN_f(x) ⊙ (1 + scale) + shift).</summary>
    string FinalLayer(string x, string c)
    {
        var mod = g.Op("Unsqueeze", [Gemm(c, "output_layer.adaLN_modulation"), g.ConstI64(1)]);   // (B, 1, 2H)
        var parts = g.Ops("Split", [mod], 2, Attr("axis", 2L));                                       // shift first
        var h = Modulate(LayerNorm(x, "output_layer.norm_final.weight"), parts[0], parts[1]);
        return Linear(h, "output_layer.linear", bias: true);
    }

    /// <summary>
    /// The normalized parameterization's step 1 (trainer ScoreNetwork.NormalizedLogScore):
    /// [LogSoftmax(y[..., :V]), 0] − ln expm1s(σ̄), (B, L, V + 1). The mask column is a constant, never
    /// read from y, so it is finite whatever the weights; the own token's 0 follows as in every graph.
    /// </summary>
    string NormalizedLogScore(string y, string sigma, string indices)
    {
        int real = arch.Vocab - 1;                                                                  // the mask is the last state
        var logits = g.Op("Slice", [y, g.ConstI64(0), g.ConstI64(real), g.ConstI64(2)]);          // (B, L, V)
        var logProbability = g.Op("LogSoftmax", [logits], Attr("axis", -1L));
        var maskShape = g.Op("Shape", [g.Op("Unsqueeze", [indices, g.ConstI64(2)])]);              // [B, L, 1]
        var maskColumn = g.Op("ConstantOfShape", [maskShape], AttrScalarTensor("value", 0f));
        var joined = g.Op("Concat", [logProbability, maskColumn], Attr("axis", 2L));               // (B, L, V + 1)
        return g.Op("Sub", [joined, LogScale(sigma, centre: false)]);
    }

    /// <summary>
    /// spec §5.7 step 1: ln(expm1s(σ)), + ln(vocab − 1) when <paramref name="centre"/> (the score
    /// parameterization), shaped (B, 1, 1). ONNX has no Expm1, so below
    /// σ = 0.5 e^σ − 1 is the Taylor series in Horner form σ(1 + σ/2(1 + σ/3(…(1 + σ/10)))), whose
    /// truncation error at σ = 0.5 is below 1e-10 relative: float32-exact where Exp(σ) − 1 would lose
    /// up to all digits (σ̄ reaches 1e-5 in the final denoising step).
    /// </summary>
    string LogScale(string sigma, bool centre)
    {
        const int terms = 10;
        var series = g.ConstF(1f);
        for (int n = terms; n >= 2; n--)
            series = g.Op("Add", [g.ConstF(1f), g.Op("Mul", [g.Op("Mul", [sigma, g.ConstF(1f / n)]), series])]);
        var small = g.Op("Mul", [sigma, series]);
        var large = g.Op("Sub", [g.Op("Exp", [sigma]), g.ConstF(1f)]);
        var expm1s = g.Op("Where", [g.Op("Less", [sigma, g.ConstF(0.5f)]), small, large]);
        var term = g.Op("Log", [expm1s]);
        if (centre) term = g.Op("Add", [term, g.ConstF((float)Math.Log(arch.Vocab - 1))]);
        return g.Op("Unsqueeze", [term, g.ConstI64(1, 2)]);
    }

    /// <summary>spec §5.7 step 2: y[b, l, indices[b, l]] = 0, the log-ratio of a state to itself.</summary>
    string ZeroAtOwnToken(string y, string indices)
    {
        var at = g.Op("Unsqueeze", [indices, g.ConstI64(2)]);                                        // (B, L, 1)
        var zeros = g.Op("ConstantOfShape", [g.Op("Shape", [at])], AttrScalarTensor("value", 0f));
        return g.Op("ScatterElements", [y, at, zeros], Attr("axis", 2L));
    }

    /// <summary>x Wᵀ + b for a 2-D input (B, in) with the [out, in] weight as stored (Gemm transB).</summary>
    string Gemm(string x, string prefix) =>
        g.Op("Gemm", [x, Weight(prefix + ".weight"), Weight(prefix + ".bias")], Attr("transB", 1L));

    /// <summary>x Wᵀ (+ b) for an input of any rank; ORT folds the Transpose of the initializer at load.</summary>
    string Linear(string x, string prefix, bool bias)
    {
        var y = g.Op("MatMul", [x, g.Op("Transpose", [Weight(prefix + ".weight")], Attr("perm", new long[] { 1, 0 }))]);
        return bias ? g.Op("Add", [y, Weight(prefix + ".bias")]) : y;
    }

    /// <summary>LayerNorm over the last axis with weight only (no bias), float32 (spec §5.5).</summary>
    string LayerNorm(string x, string weight) =>
        g.Op("LayerNormalization", [x, Weight(weight)], Attr("axis", -1L), Attr("epsilon", arch.LayerNormEps));

    /// <summary>h ⊙ (1 + scale) + shift, scale and shift (B, 1, H) broadcast over positions.</summary>
    string Modulate(string h, string shift, string scale) =>
        g.Op("Add", [g.Op("Mul", [h, g.Op("Add", [scale, g.ConstF(1f)])]), shift]);

    string SiLU(string x) => g.Op("Mul", [x, g.Op("Sigmoid", [x])]);

    /// <summary>Adds the named parameter as a float32 initializer once and returns its name.</summary>
    string Weight(string name)
    {
        if (!added.Add(name)) return name;
        var t = weights[name];
        var raw = t.DType == "F32" ? t.Data : MemoryMarshal.AsBytes(t.ToFloats().AsSpan()).ToArray();
        return g.Initializer(name, raw, t.Shape);
    }
}
