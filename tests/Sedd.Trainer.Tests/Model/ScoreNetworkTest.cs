using System.Text.Json.Nodes;
using Sedd.Runtime;
using Sedd.Tests;
using Sedd.Trainer.Model;
using TorchSharp;
using Xunit.Sdk;
using static TorchSharp.torch;

namespace Sedd.Trainer.Tests.Model;

/// <summary>model_forward.json (spec §5): every case, output and every intermediate, in float64 and float32.</summary>
public class ScoreNetworkTest
{
    public static TheoryData<string> Cases => Goldens.CaseNames(ScoreNetworkGoldens.File);

    [Theory]
    [MemberData(nameof(Cases))]
    public void ScoreNetworkTest_Golden_Float64(string name) => CheckCase(name, ScalarType.Float64, Tolerance.Float64Model);

    [Theory]
    [MemberData(nameof(Cases))]
    public void ScoreNetworkTest_Golden_Float32(string name) => CheckCase(name, ScalarType.Float32, Tolerance.Float32);

    static void CheckCase(string name, ScalarType dtype, Tolerance tol)
    {
        var c = Goldens.Case(ScoreNetworkGoldens.File, name);
        using var net = ScoreNetworkGoldens.LoadNetwork(c, dtype);
        using var scope = NewDisposeScope();
        var (indices, sigma) = ScoreNetworkGoldens.Inputs(c, dtype);
        var trace = new Dictionary<string, Tensor>();
        net.Trace = trace;
        Tensor output;
        using (no_grad()) output = net.call(indices, sigma);
        net.Trace = null;
        Assert.Equal(dtype, output.dtype);

        var expected = c["expected"]!;
        // Intermediates first: a mismatch there points at the layer that went wrong.
        foreach (var (key, node) in expected["intermediates"]!.AsObject())
            CheckIntermediate(name, key, node!, trace, tol);
        Goldens.AssertClose(name, "output", expected["output"]!, ScoreNetworkGoldens.ToDoubles(output), tol);
    }

    static void CheckIntermediate(string name, string key, JsonNode node, Dictionary<string, Tensor> trace, Tolerance tol)
    {
        switch (key)
        {
            case "block_outputs":
                // [n_blocks][B][L][H]: the trace holds one entry per block.
                var n = node.AsArray().Count;
                var blocks = new Tensor[n];
                for (int i = 0; i < n; i++) blocks[i] = Traced(name, $"block_outputs.{i}", trace);
                Goldens.AssertClose(name, key, node, ScoreNetworkGoldens.ToDoubles(stack(blocks)), tol);
                break;
            case "block0":
                foreach (var (sub, subNode) in node.AsObject())
                {
                    if (sub == "modulation")
                        foreach (var (part, partNode) in subNode!.AsObject())
                            Compare(name, $"block0.modulation.{part}", partNode!, trace, tol);
                    else
                        Compare(name, $"block0.{sub}", subNode!, trace, tol);
                }
                break;
            default:
                Compare(name, key, node, trace, tol);
                break;
        }
    }

    static void Compare(string name, string key, JsonNode expected, Dictionary<string, Tensor> trace, Tolerance tol)
    {
        var t = Traced(name, key, trace);
        var shape = Goldens.Shape(expected);
        Assert.True(t.shape.SequenceEqual(shape.Select(s => (long)s)),
            $"{name}.{key}: shape [{string.Join(", ", t.shape)}], expected [{string.Join(", ", shape)}]");
        Goldens.AssertClose(name, key, expected, ScoreNetworkGoldens.ToDoubles(t), tol);
    }

    static Tensor Traced(string name, string key, Dictionary<string, Tensor> trace) =>
        trace.TryGetValue(key, out var t) ? t : throw new XunitException($"{name}: intermediate {key} is not traced by ScoreNetwork");

    /// <summary>The network's parameter and buffer names are exactly the reference's state_dict keys (spec §5.8).</summary>
    [Theory]
    [MemberData(nameof(Cases))]
    public void ScoreNetworkTest_StateDictNames(string name)
    {
        var c = Goldens.Case(ScoreNetworkGoldens.File, name);
        var (config, vocab, scaleBySigma) = ScoreNetworkGoldens.Architecture(c);
        using var net = new ScoreNetwork(config, vocab, scaleBySigma);
        var expected = c["weights"]!.AsObject().Select(kv => kv.Key).Order(StringComparer.Ordinal).ToArray();
        var actual = net.state_dict().Keys.Order(StringComparer.Ordinal).ToArray();
        Assert.Equal(expected, actual);
        // The freshly computed rotary buffer equals the reference's (θ_k = 10000^(−2k/d), spec §5.4).
        Goldens.AssertClose(name, "rotary_emb.inv_freq", c["weights"]!["rotary_emb.inv_freq"]!,
            ScoreNetworkGoldens.ToDoubles(net.state_dict()["rotary_emb.inv_freq"]), Tolerance.Float32);
        Assert.Equal(ScoreNetwork.CountParameters(config, vocab), net.ParameterCount());
    }

    /// <summary>Spec §5.11: released 'small' sizes, counted from the shapes (nothing allocated).</summary>
    [Fact]
    public void ScoreNetworkTest_ParameterCount_Small()
    {
        var small = new ModelConfig { HiddenSize = 768, NBlocks = 12, NHeads = 12, CondDim = 128, Length = 1024 };
        Assert.Equal(169_627_218, ScoreNetwork.CountParameters(small, 50257 + 1));
        Assert.Equal(169_625_681, ScoreNetwork.CountParameters(small, 50257));
        var medium = small with { HiddenSize = 1024, NBlocks = 24, NHeads = 16 };
        Assert.Equal(424_477_010, ScoreNetwork.CountParameters(medium, 50257 + 1));
    }

    /// <summary>Spec §5.9: at initialisation every block is the identity and the projection is 0, so an absorb
    /// model emits −ln expm1s(σ) − ln V off the current token and 0 at it.</summary>
    [Fact]
    public void ScoreNetworkTest_Initialisation_AbsorbOutput()
    {
        const int v = 50;
        var config = new ModelConfig { HiddenSize = 32, NHeads = 4, CondDim = 16, NBlocks = 2, Length = 16 };
        using var net = new ScoreNetwork(config, v + 1, scaleBySigma: true);
        using var scope = NewDisposeScope();
        double[] sigmas = [1e-5, 0.3, 0.5, 2.0, 6.9];
        manual_seed(1);
        var indices = randint(0, v + 1, [sigmas.Length, 12]);
        Tensor output;
        using (no_grad()) output = net.call(indices, tensor(sigmas).to_type(ScalarType.Float32));
        var got = ScoreNetworkGoldens.ToDoubles(output);
        var idx = indices.data<long>().ToArray();
        var expected = new double[got.Length];
        for (int b = 0; b < sigmas.Length; b++)
            for (int p = 0; p < 12; p++)
                for (int y = 0; y <= v; y++)
                    expected[(b * 12 + p) * (v + 1) + y] = y == idx[b * 12 + p] ? 0 : -Math.Log(SeddMath.Expm1s(sigmas[b])) - Math.Log(v);
        Goldens.AssertClose("init_absorb", "output", expected, got, Tolerance.Float32, [sigmas.Length, 12, v + 1]);
    }

    /// <summary>bf16 matmuls stay close to float32 and still back-propagate into float32 master weights.</summary>
    [Theory]
    [MemberData(nameof(Cases))]
    public void ScoreNetworkTest_Bf16CloseToFloat32(string name)
    {
        var c = Goldens.Case(ScoreNetworkGoldens.File, name);
        using var net = ScoreNetworkGoldens.LoadNetwork(c);
        using var scope = NewDisposeScope();
        var (indices, sigma) = ScoreNetworkGoldens.Inputs(c, ScalarType.Float32);
        Tensor fp32;
        using (no_grad()) fp32 = net.call(indices, sigma);
        net.Bf16Matmul = true;
        var bf16 = net.call(indices, sigma);
        Assert.Equal(ScalarType.Float32, bf16.dtype);
        // bf16 keeps 8 mantissa bits (~4e-3 relative per operand); the random golden weights give outputs of order 1–10.
        var scale = fp32.abs().max().item<float>();
        var err = (bf16.detach() - fp32).abs().max().item<float>();
        Assert.True(err < 0.03 * scale, $"{name}: bf16 max |error| {err} vs output scale {scale}");
        Assert.True(err > 0, $"{name}: bf16 output is identical to float32, so bf16 was not used");
        bf16.sum().backward();
        foreach (var (pname, p) in net.named_parameters())
        {
            Assert.Equal(ScalarType.Float32, p.dtype);
            Assert.True(p.grad is not null && p.grad.isfinite().all().item<bool>(), $"{name}: no finite gradient for {pname}");
        }
    }

    /// <summary>TimeIndependent: the network sees σ = 0, so two σ values change the output only by the §5.7 scaling.</summary>
    [Fact]
    public void ScoreNetworkTest_TimeIndependent_OnlyScalingDependsOnSigma()
    {
        var c = Goldens.Case(ScoreNetworkGoldens.File, "absorb_tiny");
        using var net = ScoreNetworkGoldens.LoadNetwork(c, ScalarType.Float64);
        var (config, vocab, _) = ScoreNetworkGoldens.Architecture(c);
        using var ti = new ScoreNetwork(config with { TimeIndependent = true }, vocab, scaleBySigma: true);
        ti.to(ScalarType.Float64);
        ti.LoadWeights(net.state_dict());
        ti.eval();
        using var scope = NewDisposeScope();
        var (indices, _) = ScoreNetworkGoldens.Inputs(c, ScalarType.Float64);
        var b = indices.shape[0];
        using var noGrad = no_grad();
        Tensor Run(ScoreNetwork m, double s) => m.call(indices, full(b, s, ScalarType.Float64));
        var shift = Math.Log(SeddMath.Expm1s(0.2)) - Math.Log(SeddMath.Expm1s(1.3));
        var expected = Run(ti, 0.2) + shift;
        var mask = ones_like(expected).scatter(-1, indices.unsqueeze(-1), zeros(b, indices.shape[1], 1, ScalarType.Float64));
        Goldens.AssertClose("time_independent", "output", ScoreNetworkGoldens.ToDoubles(expected * mask), ScoreNetworkGoldens.ToDoubles(Run(ti, 1.3)), Tolerance.Float64Model);
        // ... while the time-dependent network with the same weights does depend on σ.
        var diff = (Run(net, 0.2) + shift - Run(net, 1.3)) * mask;
        Assert.True(diff.abs().max().item<double>() > 1e-3);
    }

    [Fact]
    public void ScoreNetworkTest_TooLong_ThrowsUsage()
    {
        var config = new ModelConfig { HiddenSize = 16, NHeads = 2, CondDim = 8, NBlocks = 1, Length = 8 };
        using var net = new ScoreNetwork(config, 5, scaleBySigma: true);
        using var scope = NewDisposeScope();
        var ex = Assert.Throws<SeddException>(() => net.call(zeros(1, 9, ScalarType.Int64), ones(1)));
        Assert.Equal(SeddException.Usage, ex.ExitCode);
        Assert.Contains("9", ex.Message, StringComparison.Ordinal);
        Assert.Contains("8", ex.Message, StringComparison.Ordinal);
        using (no_grad()) Assert.Equal([1, 8, 5], net.call(zeros(1, 8, ScalarType.Int64), ones(1)).shape);
    }

    [Fact]
    public void ScoreNetworkTest_LoadWeights_NamesTheBadTensor()
    {
        var c = Goldens.Case(ScoreNetworkGoldens.File, "absorb_tiny");
        var (config, vocab, scale) = ScoreNetworkGoldens.Architecture(c);
        using var net = new ScoreNetwork(config, vocab, scale);
        using var scope = NewDisposeScope();
        var weights = ScoreNetworkGoldens.Weights(c, ScalarType.Float32);
        // The last block's qkv weight, [3H, H] for the case's own H and block count.
        int h = config.HiddenSize, last = config.NBlocks - 1;
        var qkv = $"blocks.{last}.attn_qkv.weight";
        weights[qkv] = weights[qkv].t();
        var ex = Assert.Throws<SeddException>(() => net.LoadWeights(weights, "ckpt.safetensors"));
        Assert.Equal(SeddException.BadInput, ex.ExitCode);
        Assert.Contains($"ckpt.safetensors: tensor '{qkv}' has shape [{h}, {3 * h}], expected [{3 * h}, {h}]", ex.Message, StringComparison.Ordinal);
        weights.Remove(qkv);
        Assert.Contains($"'{qkv}' is missing", Assert.Throws<SeddException>(() => net.LoadWeights(weights)).Message, StringComparison.Ordinal);
        weights[qkv] = zeros(3 * h, h);
        var extra = $"blocks.{config.NBlocks}.norm1.weight";   // one block more than the network has
        weights[extra] = zeros(h);
        Assert.Contains($"'{extra}'", Assert.Throws<SeddException>(() => net.LoadWeights(weights)).Message, StringComparison.Ordinal);
    }

    /// <summary>Dropout (spec §5.5) is active in training mode only.</summary>
    [Fact]
    public void ScoreNetworkTest_Dropout_TrainOnly()
    {
        var c = Goldens.Case(ScoreNetworkGoldens.File, "uniform_tiny");
        using var net = ScoreNetworkGoldens.LoadNetwork(c);
        using var scope = NewDisposeScope();
        var (indices, sigma) = ScoreNetworkGoldens.Inputs(c, ScalarType.Float32);
        using var noGrad = no_grad();
        Assert.True(net.call(indices, sigma).allclose(net.call(indices, sigma), rtol: 0, atol: 0));
        net.train();
        Assert.False(net.call(indices, sigma).allclose(net.call(indices, sigma)));
    }
}
