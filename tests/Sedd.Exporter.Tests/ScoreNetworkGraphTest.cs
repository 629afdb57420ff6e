using Google.Protobuf;
using Onnx;
using Sedd.Exporter;
using Sedd.Runtime;
using Xunit.Abstractions;
using Xunit.Sdk;

namespace Sedd.Tests;

/// <summary>
/// The exported ONNX graph, run by ONNX Runtime (CPU, ORT_ENABLE_ALL), against model_forward.json
/// (spec §5) with the float32 tolerance of goldens/README.md, plus dynamic batch/length behaviour.
/// </summary>
public class ScoreNetworkGraphTest(ITestOutputHelper output)
{
    public static TheoryData<string> Cases => Goldens.CaseNames("model_forward.json");

    [Theory]
    [MemberData(nameof(Cases))]
    public void ScoreNetworkGraph_MatchesGolden(string caseName)
    {
        var m = GoldenModel.Load(caseName);
        var model = ScoreNetworkGraph.Build(m.Architecture, m.Weights);
        foreach (var node in model.Graph.Node)
            Assert.True(node.Domain.Length == 0, $"{node.Name} uses domain {node.Domain}; the graph must stay in ai.onnx");
        Assert.Equal(ScoreNetworkGraph.Opset, model.OpsetImport.Single().Version);

        using var session = new ScoreNetworkSession(model.ToByteArray());
        var (y, shape) = session.Run(m.Indices, m.Sigma, m.Length);
        Assert.Equal([m.Batch, m.Length, m.Architecture.Vocab], shape);
        Report(caseName, "full", m.Expected, y);
        Goldens.AssertClose(caseName, "output", m.Expected, ToDoubles(y), Tolerance.Float32);
    }

    [Theory]
    [MemberData(nameof(Cases))]
    public void ScoreNetworkGraph_Initializers_AreTheNamedParameters(string caseName)
    {
        var m = GoldenModel.Load(caseName);
        var model = ScoreNetworkGraph.Build(m.Architecture, m.Weights);
        var inits = model.Graph.Initializer.ToDictionary(t => t.Name);
        foreach (var (name, shape) in m.Architecture.ParameterShapes())
        {
            Assert.True(inits.TryGetValue(name, out var t), $"{caseName}: initializer {name} missing");
            Assert.Equal(shape, t!.Dims.ToArray());
            Assert.Equal((int)TensorProto.Types.DataType.Float, t.DataType);
            Assert.Equal(m.Weights[name].Data, t.RawData.ToByteArray());
        }
        Assert.False(inits.ContainsKey("rotary_emb.inv_freq"), "the rotary buffer is recomputed, not exported");
    }

    /// <summary>
    /// Rows are independent: each row alone (batch 1) and a batch of 3 (rows 0, last, 0) must reproduce
    /// the golden rows at the full length. Shorter lengths change every position (bidirectional
    /// attention), so there only shape, finiteness and the zero at the own token are checked.
    /// </summary>
    [Theory]
    [MemberData(nameof(Cases))]
    public void ScoreNetworkGraph_DynamicBatchAndLength(string caseName)
    {
        var m = GoldenModel.Load(caseName, maxLength: 16);
        var (expected, _) = Goldens.Tensor(m.Expected);
        int v = m.Architecture.Vocab, row = m.Length * v;
        using var session = m.Open();

        for (int b = 0; b < m.Batch; b++)
        {
            var (y, shape) = session.Run(m.Indices.AsSpan(b * m.Length, m.Length).ToArray(), [m.Sigma[b]], m.Length);
            Assert.Equal([1, m.Length, v], shape);
            Goldens.AssertClose($"{caseName}[batch 1, row {b}]", "output", expected.AsSpan(b * row, row), ToDoubles(y), Tolerance.Float32);
        }

        int[] rows = [0, m.Batch - 1, 0];
        var indices3 = rows.SelectMany(r => m.Indices.Skip(r * m.Length).Take(m.Length)).ToArray();
        var (y3, shape3) = session.Run(indices3, rows.Select(r => m.Sigma[r]).ToArray(), m.Length);
        Assert.Equal([3, m.Length, v], shape3);
        for (int i = 0; i < rows.Length; i++)
            Goldens.AssertClose($"{caseName}[batch 3, row {i}]", "output", expected.AsSpan(rows[i] * row, row), ToDoubles(y3.AsSpan(i * row, row)), Tolerance.Float32);

        foreach (var length in new[] { 1, 3, m.Length - 1, 16 }.Distinct())
        {
            var indices = new long[m.Batch * length];
            for (int b = 0; b < m.Batch; b++)
                for (int l = 0; l < length; l++) indices[b * length + l] = m.Indices[b * m.Length + l % m.Length];
            var (y, shape) = session.Run(indices, m.Sigma, length);
            Assert.Equal([m.Batch, length, v], shape);
            CheckLogScore($"{caseName}[length {length}]", y, indices, v);
        }
    }

    [Theory]
    [MemberData(nameof(Cases))]
    public void ScoreNetworkSession_RejectsLengthBeyondMaximum(string caseName)
    {
        var m = GoldenModel.Load(caseName);
        using var session = m.Open();
        var e = Assert.Throws<SeddException>(() => session.Run(new long[m.Length + 1], [1f], m.Length + 1));
        Assert.Contains($"1..{m.Length}", e.Message, StringComparison.Ordinal);
    }

    /// <summary>
    /// spec §5.7 step 1 on its own: a time-independent copy (the σ path conditions on 0) differs between
    /// two σ̄ only by ln expm1s, which must match the double reference down to σ̄ = 1e-5, on both sides of
    /// the 0.5 switch. Only for cases with scale_by_sigma on.
    /// </summary>
    [Theory]
    [MemberData(nameof(Cases))]
    public void ScoreNetworkGraph_SigmaScaling_MatchesDoubleExpm1s(string caseName)
    {
        var m = GoldenModel.Load(caseName);
        using var session = m.Open(m.Architecture with { TimeIndependent = true });
        float[] sigmas = [1f, 1e-5f, 1e-3f, 0.1f, 0.4999f, 0.5f, 0.5001f, 3f, 20f];
        var indices = Enumerable.Repeat(m.Indices.Take(m.Length), sigmas.Length).SelectMany(r => r).ToArray();
        var (y, _) = session.Run(indices, sigmas, m.Length);
        int row = m.Length * m.Architecture.Vocab;
        for (int i = 1; i < sigmas.Length; i++)
        {
            double shift = m.Architecture.ScaleBySigma
                ? Math.Log(SeddMath.Expm1s(sigmas[0])) - Math.Log(SeddMath.Expm1s(sigmas[i]))
                : 0;
            var expected = new double[row];
            var got = new double[row];
            for (int j = 0; j < row; j++)
            {
                bool own = m.Indices[j / m.Architecture.Vocab] == j % m.Architecture.Vocab;
                expected[j] = own ? 0 : y[j] + shift;
                got[j] = y[i * row + j];
            }
            Goldens.AssertClose($"{caseName}[σ̄ {sigmas[i]}]", "output", expected, got, Tolerance.Float32);
        }
    }

    [Fact]
    public void ScoreNetworkArchitecture_Infer_NamesMissingAndMisShapedTensors()
    {
        var m = GoldenModel.Load((string)Goldens.Cases("model_forward.json").First()["name"]!);
        var missing = new Dictionary<string, Sedd.Runtime.IO.SafeTensor>(m.Weights);
        missing.Remove("blocks.0.attn_out.weight");
        var e = Assert.Throws<SeddException>(() => ScoreNetworkArchitecture.Infer(missing, m.Architecture.Heads, m.Architecture.ScaleBySigma, 8));
        Assert.Contains("blocks.0.attn_out.weight", e.Message, StringComparison.Ordinal);

        var bad = new Dictionary<string, Sedd.Runtime.IO.SafeTensor>(m.Weights)
        {
            ["output_layer.linear.bias"] = Sedd.Runtime.IO.SafeTensor.FromFloats(new float[m.Architecture.Vocab + 1], m.Architecture.Vocab + 1),
        };
        e = Assert.Throws<SeddException>(() => ScoreNetworkGraph.Build(m.Architecture, bad));
        Assert.Contains("output_layer.linear.bias", e.Message, StringComparison.Ordinal);

        // A wrong head count changes d, which the stored rotary buffer exposes.
        e = Assert.Throws<SeddException>(() => ScoreNetworkArchitecture.Infer(m.Weights, m.Architecture.Heads * 2, m.Architecture.ScaleBySigma, 8));
        Assert.Contains("rotary_emb.inv_freq", e.Message, StringComparison.Ordinal);
    }

    internal static double[] ToDoubles(ReadOnlySpan<float> y)
    {
        var d = new double[y.Length];
        for (int i = 0; i < y.Length; i++) d[i] = y[i];
        return d;
    }

    /// <summary>Finite everywhere and exactly 0 at each position's own token (spec §5.7 step 2).</summary>
    internal static void CheckLogScore(string what, float[] y, long[] indices, int vocab)
    {
        Assert.Equal(indices.Length * vocab, y.Length);
        for (int i = 0; i < y.Length; i++)
            if (!float.IsFinite(y[i])) throw new XunitException($"{what}: non-finite log-score {y[i]} at {i}");
        for (int p = 0; p < indices.Length; p++)
            if (y[p * vocab + indices[p]] != 0) throw new XunitException($"{what}: position {p} has {y[p * vocab + indices[p]]} at its own token {indices[p]}");
    }

    void Report(string caseName, string what, System.Text.Json.Nodes.JsonNode expected, float[] y)
    {
        var (e, _) = Goldens.Tensor(expected);
        double max = 0;
        for (int i = 0; i < e.Length && i < y.Length; i++) max = Math.Max(max, Math.Abs(y[i] - e[i]));
        output.WriteLine($"{caseName} ({what}): max |ORT − golden| = {max:E2}");
    }
}
