using Sedd.Tests;
using Sedd.Trainer.Diffusion;
using Xunit.Sdk;
using static Sedd.Trainer.Tests.Diffusion.GoldenTensors;
using static TorchSharp.torch;

namespace Sedd.Trainer.Tests.Diffusion;

/// <summary>
/// sampler_step.json (spec §6) as far as the trainer implements it: the time grid, the exponential
/// race and single Euler / analytic / denoising steps, in float64 (the sampler cases are float64
/// only). Dispatches on the case's function.
/// </summary>
public class ReverseStepsTest
{
    /// <summary>
    /// Complete sampler runs drive the absorb_tiny model of model_forward.json: covered elsewhere
    /// (the runtime sampler tests replay them step by step), so they are not dispatched here.
    /// </summary>
    const string TrajectoryFunction = "get_pc_sampler(...)(model)";

    public static TheoryData<string> Cases
    {
        get
        {
            var data = new TheoryData<string>();
            foreach (var c in Goldens.Cases("sampler_step.json"))
                if ((string)c["function"]! != TrajectoryFunction) data.Add((string)c["name"]!);
            return data;
        }
    }

    [Theory]
    [MemberData(nameof(Cases))]
    public void ReverseStepsTest_Golden(string name)
    {
        var c = Goldens.Case("sampler_step.json", name);
        var tol = Tolerance.Float64;
        const ScalarType dtype = ScalarType.Float64;
        var label = $"sampler_step.json:{name}";
        var p = c["params"];
        var input = c["inputs"];
        var expected = c["expected"]!;
        using var scope = NewDisposeScope();

        var function = (string)c["function"]!;
        switch (function)
        {
            case "get_pc_sampler time grid":
                var (times, dt) = ReverseSteps.TimeGrid(p!["steps"]!.GetValue<int>(), p["eps"]!.GetValue<double>());
                Check(label, expected, "timesteps", times, tol);
                Check(label, expected, "dt", [dt], tol);
                return;
            case "catsample.sample_categorical":
                Check(label, expected, "out", ReverseSteps.CategoricalSample(Floats(input!["probs"]!, dtype), Floats(input["uniforms"]!, dtype)), tol);
                return;
            case "EulerPredictor.update_fn" or "AnalyticPredictor.update_fn" or "Denoiser.update_fn":
                break;
            case TrajectoryFunction:
                throw new XunitException($"{label}: trajectories are covered elsewhere (runtime sampler tests) and must not be dispatched here");
            default:
                throw new XunitException($"{label}: unknown function {function}");
        }

        var graph = GraphOf(p!);
        var noise = Noise(p!["noise"]!);
        var x = Longs(input!["x"]!);
        var t = PerRow(input["t"]!);
        var score = Floats(input["score"]!, dtype);
        Tensor probs;
        switch (function)
        {
            case "EulerPredictor.update_fn":
            {
                // Spec §6.3: p = e_x + Δt σ'(t) reverse_rate(x, s).
                double step = input["step_size"]!.GetValue<double>();
                Check(label, expected, "sigma", Array.ConvertAll(t, noise.TotalNoise), tol);
                Check(label, expected, "dsigma", Array.ConvertAll(t, noise.RateNoise), tol);
                Check(label, expected, "reverse_rate", graph.ReverseRate(x, score), tol);
                probs = ReverseSteps.EulerProbs(graph, noise, x, score, t, step);
                break;
            }
            case "AnalyticPredictor.update_fn":
            {
                // Spec §6.4: Δσ = σ̄(t) − σ̄(t − Δt); p = staggered_score(s, Δσ) ⊙ transp_transition(x, Δσ).
                double step = input["step_size"]!.GetValue<double>();
                var current = Array.ConvertAll(t, noise.TotalNoise);
                var next = Array.ConvertAll(t, v => noise.TotalNoise(v - step));
                var dsigma = current.Zip(next, (a, b) => a - b).ToArray();
                Check(label, expected, "curr_sigma", current, tol);
                Check(label, expected, "next_sigma", next, tol);
                Check(label, expected, "dsigma", dsigma, tol);
                Check(label, expected, "staggered_score", graph.StaggeredScore(score, dsigma), tol);
                Check(label, expected, "transp_transition", graph.TransposedTransition(x, dsigma, dtype), tol);
                probs = ReverseSteps.AnalyticProbs(graph, noise, x, score, t, step);
                break;
            }
            default:
                // Spec §6.5: the analytic step from σ̄(eps) to 0; absorb drops the mask column.
                Check(label, expected, "sigma", Array.ConvertAll(t, noise.TotalNoise), tol);
                probs = ReverseSteps.DenoiseProbs(graph, noise, x, score, t);
                break;
        }
        Check(label, expected, "probs", probs, tol);
        Check(label, expected, "x_next", ReverseSteps.CategoricalSample(probs, Floats(input["uniforms"]!, dtype)), tol);
    }

    [Fact]
    public void ReverseStepsTest_CategoricalSampleFrequenciesMatchWeights()
    {
        // Spec §6.2: the race picks k with probability p_k / Σp for non-negative p; zero and
        // negative weights are never chosen while a positive one exists.
        const int draws = 40000;
        double[] weights = [0.5, 0.0, 2.0, -0.3, 1.5];
        using var scope = NewDisposeScope();
        using var generator = new Generator(77, CPU);
        var probs = tensor(weights, ScalarType.Float64).expand(draws, weights.Length);
        var picks = ReverseSteps.CategoricalSample(probs, generator);
        var counts = LongValues(bincount(picks, minlength: weights.Length));
        double positive = weights.Where(w => w > 0).Sum();
        for (int k = 0; k < weights.Length; k++)
        {
            double q = Math.Max(weights[k], 0) / positive;
            double se = Math.Sqrt(q * (1 - q) / draws);
            double freq = counts[k] / (double)draws;
            Assert.True(Math.Abs(freq - q) <= 5 * se, $"category {k}: frequency {freq} vs {q} ± {5 * se}");
        }
    }

    [Fact]
    public void ReverseStepsTest_TrajectoryCasesAreTheOnlyOnesLeftOut()
    {
        // Every other case of the file is dispatched above; an unknown function fails there.
        var skipped = Goldens.Cases("sampler_step.json").Where(c => (string)c["function"]! == TrajectoryFunction).Select(c => (string)c["name"]!).ToArray();
        Assert.All(skipped, n => Assert.StartsWith("trajectory_", n, StringComparison.Ordinal));
        Assert.Equal(Goldens.Cases("sampler_step.json").Count(), Cases.Count + skipped.Length);
    }
}
