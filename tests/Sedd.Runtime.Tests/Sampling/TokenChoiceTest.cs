using Sedd.Runtime.Noise;
using Sedd.Runtime.Sampling;

namespace Sedd.Runtime.Tests.Sampling;

/// <summary>Temperature, top-k and top-p reshape only which token a position takes, never whether it unmasks.</summary>
public class TokenChoiceTest
{
    static readonly double[] s_p0 = [0.4, 0.25, 0.15, 0.1, 0.06, 0.04];

    static DiffusionSampler Make(int batch, int length, int steps, TokenChoice choice, Predictor predictor = Predictor.Analytic)
    {
        var sampler = new DiffusionSampler(new AbsorbingSamplingGraph(s_p0.Length), new LogLinearNoise(), new TimeIndependentAbsorbScore(s_p0),
            batch, length, new SamplingOptions { Steps = steps, Predictor = predictor });
        var setups = new SequenceSetup[batch];
        for (int b = 0; b < batch; b++) setups[b] = new SequenceSetup(21, (ulong)b, null, choice);
        sampler.Reset(setups);
        return sampler;
    }

    [Theory]
    [InlineData(Predictor.Analytic)]
    [InlineData(Predictor.Euler)]
    public void TokenChoiceTest_NeutralChoiceIsTheDefaultPath(Predictor predictor)
    {
        var plain = new DiffusionSampler(new AbsorbingSamplingGraph(s_p0.Length), new LogLinearNoise(), new TimeIndependentAbsorbScore(s_p0),
            4, 16, new SamplingOptions { Steps = 16, Predictor = predictor }).Run(21).ToArray();
        Assert.Equal(plain, Make(4, 16, 16, new TokenChoice(1, 0, 1), predictor).Run().ToArray());
        Assert.True(new TokenChoice(1, 0, 1).IsNeutral);
        Assert.True(default(TokenChoice).IsNeutral);
    }

    [Fact]
    public void TokenChoiceTest_UnmaskingPositionsDoNotDependOnTheChoice()
    {
        const int batch = 4, length = 24, steps = 12;
        var neutral = Make(batch, length, steps, TokenChoice.Neutral);
        var cold = Make(batch, length, steps, new TokenChoice(0.3, topK: 2, topP: 0.9));
        int mask = s_p0.Length;
        for (int i = 0; i < steps; i++)
        {
            neutral.PredictorStep(i);
            cold.PredictorStep(i);
            for (int r = 0; r < batch * length; r++)
                Assert.Equal(neutral.Tokens[r] == mask, cold.Tokens[r] == mask);
        }
    }

    [Theory]
    [InlineData(0.5, 0, 1.0)]
    [InlineData(2.0, 0, 1.0)]
    [InlineData(1.0, 2, 1.0)]
    [InlineData(1.0, 0, 0.6)]
    public void TokenChoiceTest_TokensFollowTheReshapedDistribution(double temperature, int topK, double topP)
    {
        // Expected: p0^(1/T), cut to the top k or the nucleus of mass p, renormalised.
        var q = s_p0.Select(p => Math.Pow(p, 1 / temperature)).ToArray();
        if (topK > 0) for (int i = topK; i < q.Length; i++) q[i] = 0;
        if (topP < 1)
        {
            double total = q.Sum(), kept = 0;
            for (int i = 0; i < q.Length; i++) { if (kept >= topP * total) q[i] = 0; kept += q[i]; }
        }
        double sum = q.Sum();
        var counts = new double[s_p0.Length];
        int n = 0;
        var sampler = Make(64, 32, 8, new TokenChoice(temperature, topK, topP));
        for (ulong seed = 0; seed < 6; seed++)
        {
            var setups = sampler.Sequences.ToArray().Select(s => s with { Seed = seed }).ToArray();
            sampler.Reset(setups);
            foreach (long t in sampler.Run()) { counts[t]++; n++; }
        }
        for (int y = 0; y < s_p0.Length; y++)
        {
            double expected = q[y] / sum, f = counts[y] / n, se = Math.Sqrt(Math.Max(expected * (1 - expected), 1e-9) / n);
            Assert.True(Math.Abs(f - expected) < 5 * se + 1e-9, $"token {y}: frequency {f:F4}, expected {expected:F4}");
        }
    }

    [Theory]
    [InlineData(0, 0, 1)]
    [InlineData(-1, 0, 1)]
    [InlineData(1, -3, 1)]
    [InlineData(1, 0, 0)]
    [InlineData(1, 0, 1.5)]
    public void TokenChoiceTest_BadValuesAreUsageErrors(double temperature, int topK, double topP)
    {
        var e = Assert.Throws<SeddException>(() => new TokenChoice(temperature, topK, topP).Validate());
        Assert.Equal(SeddException.Usage, e.ExitCode);
        Assert.NotNull(e.Param);
    }
}
