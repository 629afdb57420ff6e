using System.Text.Json.Nodes;
using Sedd.Runtime.Sampling;
using Sedd.Tests;
using Xunit.Sdk;

namespace Sedd.Runtime.Tests.Sampling;

/// <summary>
/// Replays a <c>trajectory_*</c> case of sampler_step.json through <see cref="DiffusionSampler"/>
/// step by step with teacher forcing (goldens README), without a network:
/// <list type="bullet">
/// <item>the time grid of the driver against the stored <c>timesteps</c>;</item>
/// <item>before every call the driver's tokens are set to the reference's state (the previous
/// <c>x_out</c>; for absorb the first state comes from the driver's own sample_limit); the tokens the
/// driver hands to the model must equal <c>model_input</c> (so the projector ran, spec §6.6), and
/// the σ̄ it passes must equal <c>model_sigma</c> (float32, it is the model's input);</item>
/// <item>the stored network output is not in the file, so the replay score function inverts the
/// stored <c>probs</c> of every position the driver will draw back into log-ratios, using the
/// per-step scalars computed here from the stored time grid (Δt σ'(τ_i), e^Δσ − 1 or e^σ̄(eps) − 1).
/// If the driver used another time, step size or formula, its weights would not reproduce the
/// stored <c>probs</c>; the replay sampler compares them (float32 tolerance: the log-scores pass
/// through float) and then runs SEDD's race on them with the stored uniforms;</item>
/// <item><c>x_out</c> = race(stored probs, stored uniforms) at every position, and the driver's
/// tokens equal <c>x_out</c> at every position the projector does not fix (the driver does not
/// draw fixed positions; the reference draws them and then overwrites them);</item>
/// <item><c>final</c> = the projection of the last state, and one network evaluation per call.</item>
/// </list>
/// Left for the ONNX end-to-end test (it needs the absorb_tiny network of model_forward.json): the
/// network's log-scores at each step, hence the stored <c>probs</c> computed from a real model output
/// rather than recovered from themselves, and a free-running trajectory (no teacher forcing) that
/// reproduces <c>x_out</c> and <c>final</c> from the stored uniforms alone.
/// </summary>
static class TrajectoryReplay
{
    public static void Check(string label, JsonObject c)
    {
        var p = c["params"]!;
        var modelParams = Goldens.Case("model_forward.json", (string)p["model_case"]!)["params"]!;
        var graph = SamplingGraph.Create((string)modelParams["graph"]!, modelParams["tokens"]!.GetValue<int>());
        var noise = SamplerStepGoldenTest.NoiseOf(label, p["noise"]!);
        var predictorName = (string)p["predictor"]!;
        var predictor = predictorName switch
        {
            "euler" => Predictor.Euler,
            "analytic" => Predictor.Analytic,
            _ => throw new XunitException($"{label}: unknown predictor '{predictorName}'"),
        };
        int steps = p["steps"]!.GetValue<int>();
        double eps = p["eps"]!.GetValue<double>();
        bool denoise = p["denoise"]!.GetValue<bool>();
        var dims = Goldens.Longs(p["batch_dims"]!);
        int batch = (int)dims[0], length = (int)dims[1];
        var locs = Array.ConvertAll(Goldens.Longs(p["projector"]!["locs"]!), v => (int)v);
        var projector = new InfillProjector(locs, Goldens.Longs(p["projector"]!["ids"]!));
        var expected = c["expected"]!;
        var stored = expected["steps"]!.AsArray();
        if (stored.Count != steps + (denoise ? 1 : 0))
            throw new XunitException($"{label}: {stored.Count} stored calls for {steps} steps (denoise {denoise})");

        var model = new ReplayScore(label, graph, batch, length);
        var race = new ReplayRaceSampler();
        var options = new SamplingOptions { Predictor = predictor, Steps = steps, Eps = eps, Denoise = denoise, Threads = 1 };
        var sampler = new DiffusionSampler(graph, noise, model, batch, length, options, projector, race);
        Goldens.AssertClose(label, "timesteps", expected["timesteps"]!, sampler.Timesteps.ToArray(), Tolerance.Float64);

        // Scalars come from the stored grid, not from the driver, so that a wrong grid shows up.
        var timesteps = Goldens.Doubles(expected["timesteps"]!);
        double dt = (1 - eps) / steps;
        var fixedPosition = new bool[length];
        foreach (int l in locs) fixedPosition[l] = true;

        sampler.Reset(seed: 0);
        long[] state = sampler.Tokens.ToArray();
        bool limitIsDeterministic = graph is AbsorbingSamplingGraph; // all mask; uniform draws at random
        for (int i = 0; i < stored.Count; i++)
        {
            var st = stored[i]!;
            var stepLabel = $"{label}.steps[{i}]";
            bool isDenoise = i == steps;
            var kind = (string)st["kind"]!;
            if (kind != (isDenoise ? "denoise" : predictorName))
                throw new XunitException($"{stepLabel}: unexpected kind '{kind}'");
            var modelInput = Goldens.Longs(st["model_input"]!);
            var (probs, probsShape) = Goldens.Tensor(st["probs"]!);
            var uniforms = Goldens.Doubles(st["uniforms"]!);
            var xOut = Goldens.Longs(st["x_out"]!);
            int width = probsShape[^1];
            if (width != (isDenoise ? graph.DenoiseWidth : graph.Dimension))
                throw new XunitException($"{stepLabel}: probs have {width} columns, the {graph.Kind} graph gives {(isDenoise ? graph.DenoiseWidth : graph.Dimension)}");

            // Teacher forcing: the reference's state before this call.
            if (i == 0 && !limitIsDeterministic) state = modelInput;
            state.CopyTo(sampler.Tokens);

            double t = timesteps[i];
            double scalar = kind switch
            {
                "euler" => dt * noise.RateNoise(t),
                "analytic" => SeddMath.Expm1(noise.TotalNoise(t) - noise.TotalNoise(t - dt)),
                _ => SeddMath.Expm1(noise.TotalNoise(t)),
            };
            model.Expect(stepLabel, kind, modelInput, Goldens.Doubles(st["model_sigma"]!), probs, width, scalar);
            race.Expect(stepLabel, probs, uniforms, width);
            if (isDenoise) sampler.DenoiseStep(seed: 0);
            else sampler.PredictorStep(i, seed: 0);
            Assert.Equal(i + 1, sampler.NetworkEvaluations);
            if (!model.Called) throw new XunitException($"{stepLabel}: the driver did not call the model");

            // x_out from the stored probs and uniforms by SEDD's race, at every position.
            var raced = new long[xOut.Length];
            for (int r = 0; r < raced.Length; r++)
                raced[r] = ExponentialRaceSampler.Argmax(probs.AsSpan(r * width, width), uniforms.AsSpan(r * width, width));
            Goldens.AssertEqual(stepLabel, "x_out (race on stored probs)", xOut, raced, Goldens.Shape(st["x_out"]!));

            // The driver's own step, at the positions it owns.
            var got = sampler.Tokens.ToArray();
            for (int r = 0; r < got.Length; r++)
                if (fixedPosition[r % length]) got[r] = xOut[r];
            Goldens.AssertEqual(stepLabel, "x_out (driver)", xOut, got, Goldens.Shape(st["x_out"]!));
            state = xOut;
        }

        state.CopyTo(sampler.Tokens);
        sampler.Project();
        Goldens.AssertEqual(label, "final", expected["final"]!, sampler.Tokens);
    }

    /// <summary>
    /// Stands in for the network: checks what the driver passes and returns log-ratios recovered from
    /// the stored weights of every position the driver can draw.
    /// </summary>
    sealed class ReplayScore(string label, SamplingGraph graph, int batch, int length) : IScoreFunction
    {
        string stepLabel = label;
        string kind = "";
        long[] input = [];
        double[] sigma = [];
        double[] probs = [];
        int width;
        double scalar;

        public bool Called { get; private set; }

        public void Expect(string step, string stepKind, long[] modelInput, double[] modelSigma, double[] storedProbs, int columns, double stepScalar)
        {
            (stepLabel, kind, input, sigma, probs, width, scalar, Called) = (step, stepKind, modelInput, modelSigma, storedProbs, columns, stepScalar, false);
        }

        public void Score(ReadOnlySpan<long> tokens, ReadOnlySpan<float> sigmaIn, Span<float> logScore)
        {
            if (Called) throw new XunitException($"{stepLabel}: the model was called twice in one step");
            Called = true;
            Goldens.AssertEqual(stepLabel, "model_input", input, tokens, [batch, length]);
            var sig = new double[sigmaIn.Length];
            for (int b = 0; b < sig.Length; b++) sig[b] = sigmaIn[b];
            Goldens.AssertClose(stepLabel, "model_sigma", sigma, sig, Tolerance.Float32);

            int d = graph.Dimension;
            var s = new double[d];
            for (int r = 0; r < tokens.Length; r++)
            {
                Recover(tokens[r], probs.AsSpan(r * width, width), s);
                var row = logScore.Slice(r * d, d);
                for (int y = 0; y < d; y++) row[y] = (float)Math.Log(s[y]);
                row[(int)tokens[r]] = 0; // the model's convention: log-ratio 0 at the current token (spec §5.7)
            }
        }

        // Inverts the weights of spec §6.3–6.5 for one position. Entries the weights do not depend on
        // are set to 1.
        void Recover(long x, ReadOnlySpan<double> w, Span<double> s)
        {
            s.Fill(1);
            if (graph is AbsorbingSamplingGraph absorb)
            {
                if (x != absorb.Mask) return; // never drawn: weights are e_x whatever the score
                for (int y = 0; y < absorb.Mask; y++) s[y] = w[y] / scalar; // p_y = k s_y or (e^Δσ − 1) s_y
                return;
            }
            int n = graph.Dimension;
            if (kind == "euler")
            {
                for (int y = 0; y < n; y++) if (y != x) s[y] = n * w[y] / scalar; // p_y = Δt σ' s_y / N
                return;
            }
            // p = v ⊙ T with v = e^Δσ s − (e^Δσ − 1) Σs / N; Σv = Σs, so s = (v + (e^Δσ − 1) Σv / N) / e^Δσ.
            double off = scalar / (1 + scalar) / n;
            double total = 0;
            for (int y = 0; y < n; y++)
            {
                s[y] = w[y] / (y == x ? 1 - (n - 1) * off : off);
                total += s[y];
            }
            for (int y = 0; y < n; y++) s[y] = (s[y] + scalar * total / n) / (1 + scalar);
        }
    }

    /// <summary>Checks the driver's weights against the stored ones, then runs the race with the stored uniforms.</summary>
    sealed class ReplayRaceSampler : CategoricalSampler
    {
        string stepLabel = "";
        double[] probs = [];
        double[] uniforms = [];
        int width;

        public void Expect(string step, double[] storedProbs, double[] storedUniforms, int columns) =>
            (stepLabel, probs, uniforms, width) = (step, storedProbs, storedUniforms, columns);

        public override int Sample(ReadOnlySpan<double> weights, int row, ref Xoshiro256StarStar random)
        {
            if (weights.Length != width) throw new XunitException($"{stepLabel}: row {row} has {weights.Length} weights, expected {width}");
            Goldens.AssertClose($"{stepLabel} row {row}", "probs", probs.AsSpan(row * width, width), weights, Tolerance.Float32);
            return ExponentialRaceSampler.Argmax(weights, uniforms.AsSpan(row * width, width));
        }
    }
}
