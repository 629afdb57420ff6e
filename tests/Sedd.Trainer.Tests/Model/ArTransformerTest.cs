using Sedd.Runtime;
using Sedd.Tests;
using Sedd.Trainer.Model;
using TorchSharp;
using static TorchSharp.torch;

namespace Sedd.Trainer.Tests.Model;

/// <summary>The autoregressive baseline: causality, loss helpers, precision option, limits.</summary>
public class ArTransformerTest
{
    static readonly ModelConfig Tiny = new() { HiddenSize = 32, NHeads = 4, CondDim = 16, NBlocks = 2, Length = 16 };

    /// <summary>Changing token j never changes the logits at positions &lt; j, and does change them at j.</summary>
    [Fact]
    public void ArTransformerTest_IsCausal()
    {
        const int v = 20, l = 12;
        manual_seed(3);
        using var model = new ArTransformer(Tiny, v);
        model.eval();
        using var scope = NewDisposeScope();
        using var noGrad = no_grad();
        var x = randint(0, v, [2, l]);
        var baseLogits = model.call(x);
        foreach (var j in new[] { 0, 5, l - 1 })
        {
            var changed = x.clone();
            changed[TensorIndex.Colon, j] = (x[TensorIndex.Colon, j] + 1) % v;
            var logits = model.call(changed);
            if (j > 0)
                Assert.True(logits.narrow(1, 0, j).allclose(baseLogits.narrow(1, 0, j), rtol: 0, atol: 1e-6), $"positions < {j} changed when token {j} changed");
            Assert.False(logits.narrow(1, j, 1).allclose(baseLogits.narrow(1, j, 1), rtol: 0, atol: 1e-6), $"position {j} did not react to its own token");
        }
    }

    /// <summary>With a zero output projection every token has probability 1/V: NLL = (L−1) ln V per sequence, loss = ln V.</summary>
    [Fact]
    public void ArTransformerTest_LossHelpers_UniformPrediction()
    {
        const int v = 37, l = 10;
        using var model = new ArTransformer(Tiny, v);
        using (no_grad())
            foreach (var (name, p) in model.named_parameters())
                if (name.StartsWith("lm_head.", StringComparison.Ordinal)) p.zero_();
        using var scope = NewDisposeScope();
        var x = randint(0, v, [3, l]);
        var logits = model.call(x);
        var nll = ScoreNetworkGoldens.ToDoubles(ArTransformer.SequenceNll(logits, x));
        Goldens.AssertClose("ar_uniform", "sequence_nll", Enumerable.Repeat((l - 1) * Math.Log(v), 3).ToArray(), nll, Tolerance.Float32);
        Assert.Equal(Math.Log(v), model.Loss(x).item<float>(), 5);
    }

    /// <summary>The mean loss and the per-sequence NLL agree: loss · B(L−1) = Σ NLL, for a trained-looking (random) model.</summary>
    [Fact]
    public void ArTransformerTest_LossHelpers_Consistent()
    {
        const int v = 37, l = 10;
        manual_seed(4);
        using var model = new ArTransformer(Tiny, v);
        model.eval();
        using var scope = NewDisposeScope();
        var x = randint(0, v, [3, l]);
        var logits = model.call(x);
        var loss = ArTransformer.NextTokenLoss(logits, x).item<float>();
        var total = ArTransformer.SequenceNll(logits, x).sum().item<double>();
        Assert.Equal(total / (3 * (l - 1)), loss, 4);
        // Manual check of one term: −ln softmax(logits[0, 0])[x[0, 1]].
        var row = logits[0, 0].to_type(ScalarType.Float64);
        var term = -(row[x[0, 1].item<long>()] - row.logsumexp(0)).item<double>();
        var first = -logits.narrow(1, 0, 1).log_softmax(-1)[0, 0, x[0, 1].item<long>()].item<float>();
        Assert.Equal(term, first, 4);
    }

    [Fact]
    public void ArTransformerTest_Bf16CloseToFloat32()
    {
        manual_seed(5);
        using var model = new ArTransformer(Tiny, 50);
        model.eval();
        using var scope = NewDisposeScope();
        var x = randint(0, 50, [2, 16]);
        Tensor fp32;
        using (no_grad()) fp32 = model.call(x);
        model.Bf16Matmul = true;
        var bf16 = model.call(x);
        Assert.Equal(ScalarType.Float32, bf16.dtype);
        var err = (bf16.detach() - fp32).abs().max().item<float>();
        var scale = fp32.abs().max().item<float>();
        Assert.True(err < 0.03 * scale && err > 0, $"bf16 max |error| {err} vs scale {scale}");
        ArTransformer.NextTokenLoss(bf16, x).backward();
        foreach (var (name, p) in model.named_parameters())
            Assert.True(p.grad is not null && p.grad.isfinite().all().item<bool>(), $"no finite gradient for {name}");
    }

    [Fact]
    public void ArTransformerTest_ParameterCountAndNames()
    {
        using var model = new ArTransformer(Tiny, 50);
        long h = 32, v = 50;
        long block = 2 * h + 4 * h * h + (4 * h * h + 4 * h) + (4 * h * h + h);
        Assert.Equal(v * h + 2 * block + h + (h * v + v), model.ParameterCount());
        var names = model.state_dict().Keys.ToHashSet();
        foreach (var n in new[] { "vocab_embed.embedding", "rotary_emb.inv_freq", "blocks.1.attn_qkv.weight", "blocks.0.mlp.2.bias", "norm_final.weight", "lm_head.weight", "lm_head.bias" })
            Assert.Contains(n, names);
    }

    [Fact]
    public void ArTransformerTest_TooLong_ThrowsUsage()
    {
        using var model = new ArTransformer(Tiny, 50);
        using var scope = NewDisposeScope();
        var ex = Assert.Throws<SeddException>(() => model.call(zeros(1, 17, ScalarType.Int64)));
        Assert.Equal(SeddException.Usage, ex.ExitCode);
    }
}
