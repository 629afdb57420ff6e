using System.Text.Json.Nodes;
using Sedd.Runtime.Noise;
using Sedd.Runtime.Sampling;
using Sedd.Tests;
using Xunit.Sdk;

namespace Sedd.Runtime.Tests.Sampling;

/// <summary>
/// sampler_step.json (spec §6): every case, dispatched on its function; an unknown function fails.
/// Single steps are checked in float64 (all intermediates, the weights and the drawn ids with the
/// stored uniforms); trajectories are replayed by <see cref="TrajectoryReplay"/>.
/// </summary>
public class SamplerStepGoldenTest
{
    const string File = "sampler_step.json";

    public static TheoryData<string> Cases => Goldens.CaseNames(File);

    [Theory]
    [MemberData(nameof(Cases))]
    public void SamplerStepGoldenTest_Case(string name)
    {
        var c = Goldens.Case(File, name);
        var label = $"{File}:{name}";
        var function = (string)c["function"]!;
        switch (function)
        {
            case "get_pc_sampler time grid": TimeGridCase(label, c); break;
            case "catsample.sample_categorical": CategoricalCase(label, c); break;
            case "EulerPredictor.update_fn": StepCase(label, c, StepKind.Euler); break;
            case "AnalyticPredictor.update_fn": StepCase(label, c, StepKind.Analytic); break;
            case "Denoiser.update_fn": StepCase(label, c, StepKind.Denoise); break;
            case "get_pc_sampler(...)(model)": TrajectoryReplay.Check(label, c); break;
            default: throw new XunitException($"{label}: unknown function '{function}'");
        }
    }

    internal enum StepKind { Euler, Analytic, Denoise }

    static void TimeGridCase(string label, JsonObject c)
    {
        var p = c["params"]!;
        int steps = p["steps"]!.GetValue<int>();
        double eps = p["eps"]!.GetValue<double>();
        var grid = new double[steps + 1];
        TimeGrid.Fill(grid, eps);
        Goldens.AssertClose(label, "timesteps", c["expected"]!["timesteps"]!, grid, Tolerance.Float64);
        Goldens.AssertClose(label, "dt", Goldens.Doubles(c["expected"]!["dt"]!), [TimeGrid.StepSize(steps, eps)], Tolerance.Float64);
    }

    static void CategoricalCase(string label, JsonObject c)
    {
        var (probs, shape) = Goldens.Tensor(c["inputs"]!["probs"]!);
        var uniforms = Goldens.Doubles(c["inputs"]!["uniforms"]!);
        int k = shape[^1];
        var got = new long[probs.Length / k];
        for (int r = 0; r < got.Length; r++)
            got[r] = ExponentialRaceSampler.Argmax(probs.AsSpan(r * k, k), uniforms.AsSpan(r * k, k));
        Goldens.AssertEqual(label, "out", c["expected"]!["out"]!, got);
    }

    /// <summary>The graph named by a case's params (absorb: dim = V + 1).</summary>
    internal static SamplingGraph GraphOf(string label, JsonNode p)
    {
        var kind = (string)p["graph"]!;
        int dim = p["dim"]!.GetValue<int>();
        return kind switch
        {
            "absorb" => new AbsorbingSamplingGraph(dim - 1),
            "uniform" => new UniformSamplingGraph(dim),
            _ => throw new XunitException($"{label}: unknown graph '{kind}'"),
        };
    }

    internal static NoiseSchedule NoiseOf(string label, JsonNode noise)
    {
        var type = (string)noise["type"]!;
        return type switch
        {
            "loglinear" => new LogLinearNoise(noise["eps"]!.GetValue<double>()),
            "geometric" => new GeometricNoise(noise["sigma_min"]!.GetValue<double>(), noise["sigma_max"]!.GetValue<double>()),
            _ => throw new XunitException($"{label}: unknown noise type '{type}'"),
        };
    }

    static void StepCase(string label, JsonObject c, StepKind kind)
    {
        var tol = Tolerance.Float64;
        var p = c["params"]!;
        var input = c["inputs"]!;
        var expected = c["expected"]!;
        var graph = GraphOf(label, p);
        var noise = NoiseOf(label, p["noise"]!);
        var x = Goldens.Longs(input["x"]!);
        var t = Goldens.Doubles(input["t"]!); // [B, 1]
        var (score, scoreShape) = Goldens.Tensor(input["score"]!);
        var uniforms = Goldens.Doubles(input["uniforms"]!);
        int d = graph.Dimension;
        if (scoreShape[^1] != d) throw new XunitException($"{label}: score rows have {scoreShape[^1]} states, the graph {d}");
        int batch = t.Length, positions = x.Length, length = positions / batch;
        int width = kind == StepKind.Denoise ? graph.DenoiseWidth : d;
        double stepSize = kind == StepKind.Denoise ? 0 : input["step_size"]!.GetValue<double>();

        // Per-sequence scalars in double, with the helpers the driver itself uses (spec §6.3–6.5).
        var scalar = new double[batch];
        var dsigma = new double[batch];
        for (int b = 0; b < batch; b++)
        {
            switch (kind)
            {
                case StepKind.Euler: scalar[b] = DiffusionSampler.EulerRateStep(noise, t[b], stepSize); break;
                case StepKind.Analytic:
                    dsigma[b] = DiffusionSampler.AnalyticDsigma(noise, t[b], stepSize);
                    scalar[b] = SeddMath.Expm1(dsigma[b]);
                    break;
                default: scalar[b] = SeddMath.Expm1(noise.TotalNoise(t[b])); break;
            }
        }
        switch (kind)
        {
            case StepKind.Euler:
                Goldens.AssertClose(label, "sigma", expected["sigma"]!, Array.ConvertAll(t, noise.TotalNoise), tol);
                Goldens.AssertClose(label, "dsigma", expected["dsigma"]!, Array.ConvertAll(t, noise.RateNoise), tol);
                break;
            case StepKind.Analytic:
                Goldens.AssertClose(label, "curr_sigma", expected["curr_sigma"]!, Array.ConvertAll(t, noise.TotalNoise), tol);
                Goldens.AssertClose(label, "next_sigma", expected["next_sigma"]!, Array.ConvertAll(t, v => noise.TotalNoise(v - stepSize)), tol);
                Goldens.AssertClose(label, "dsigma", expected["dsigma"]!, dsigma, tol);
                break;
            default:
                Goldens.AssertClose(label, "sigma", expected["sigma"]!, Array.ConvertAll(t, noise.TotalNoise), tol);
                break;
        }

        var rate = new double[positions * d];
        var staggered = new double[positions * d];
        var transition = new double[positions * d];
        var probs = new double[positions * width];
        var next = new long[positions];
        for (int r = 0; r < positions; r++)
        {
            int b = r / length;
            var s = score.AsSpan(r * d, d);
            var w = probs.AsSpan(r * width, width);
            switch (kind)
            {
                case StepKind.Euler:
                    graph.ReverseRate(x[r], s, rate.AsSpan(r * d, d));
                    graph.EulerWeights(x[r], s, scalar[b], w);
                    break;
                case StepKind.Analytic:
                    graph.StaggeredScore(s, dsigma[b], staggered.AsSpan(r * d, d));
                    graph.TransposedTransition(x[r], dsigma[b], transition.AsSpan(r * d, d));
                    graph.AnalyticWeights(x[r], s, scalar[b], w);
                    break;
                default:
                    graph.DenoiseWeights(x[r], s, scalar[b], w);
                    break;
            }
            next[r] = ExponentialRaceSampler.Argmax(w, uniforms.AsSpan(r * width, width));
            // The driver skips positions that cannot change; the reference must agree that they stay.
            if (!graph.CanChange(x[r]) && next[r] != x[r])
                throw new XunitException($"{label}: position {r} holds {x[r]}, which the {graph.Kind} graph never moves, but the race moved it to {next[r]}");
        }
        if (kind == StepKind.Euler) Goldens.AssertClose(label, "reverse_rate", expected["reverse_rate"]!, rate, tol);
        if (kind == StepKind.Analytic)
        {
            Goldens.AssertClose(label, "staggered_score", expected["staggered_score"]!, staggered, tol);
            Goldens.AssertClose(label, "transp_transition", expected["transp_transition"]!, transition, tol);
        }
        Goldens.AssertClose(label, "probs", expected["probs"]!, probs, tol);
        Goldens.AssertEqual(label, "x_next", expected["x_next"]!, next);
    }
}
