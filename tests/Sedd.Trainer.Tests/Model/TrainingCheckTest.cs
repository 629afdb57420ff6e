using System.Text.Json.Nodes;
using Sedd.Runtime.Noise;
using Sedd.Tests;
using Sedd.Trainer.Diffusion;
using TorchSharp;
using static TorchSharp.torch;

namespace Sedd.Trainer.Tests.Model;

/// <summary>
/// model_forward.json → training_check: the whole chain of one training step before the optimiser
/// (network, §5.7 output, score entropy, σ'-weighted sum, batch mean, autograd to every parameter).
/// </summary>
public class TrainingCheckTest
{
    const string File = "model_forward.json";

    public static TheoryData<string, bool> Cases()
    {
        var data = new TheoryData<string, bool>();
        foreach (var c in Goldens.Cases(File))
        {
            data.Add((string)c["name"]!, true);
            data.Add((string)c["name"]!, false);
        }
        return data;
    }

    [Theory]
    [MemberData(nameof(Cases))]
    public void TrainingCheckTest_Golden(string name, bool float64)
    {
        var c = Goldens.Case(File, name);
        var dtype = float64 ? ScalarType.Float64 : ScalarType.Float32;
        var tol = float64 ? Tolerance.Float64Model : Tolerance.Float32;
        var p = c["params"]!;
        var check = c["training_check"]!;
        using var scope = NewDisposeScope();
        using var network = ScoreNetworkGoldens.LoadNetwork(c, dtype);
        network.eval(); // the reference computed it with dropout inactive
        var graph = Graph.Create((string)p["graph"]!, p["tokens"]!.GetValue<long>());
        // The goldens pair absorb with log-linear and uniform with geometric (1e-4, 20), as the shipped configs do.
        var noise = p["noise"] is JsonObject n
            ? NoiseSchedule.Create((string)n["type"]!, n["sigma_min"]?.GetValue<double>() ?? 1e-4, n["sigma_max"]?.GetValue<double>() ?? 20)
            : graph.IsAbsorbing ? new LogLinearNoise() : new GeometricNoise(1e-4, 20);
        var loss = new ScoreEntropyLoss(graph, noise, sigmaDtype: dtype);
        var inputs = check["inputs"]!;
        var x0 = tensor(Goldens.Longs(inputs["x0"]!), [.. Goldens.Shape(inputs["x0"]!).Select(d => (long)d)]);
        var xt = tensor(Goldens.Longs(inputs["xt"]!), [.. Goldens.Shape(inputs["xt"]!).Select(d => (long)d)]);
        var t = Goldens.Doubles(inputs["t"]!);

        var result = loss.Compute((x, sigma) => network.call(x, sigma), x0, t, xt);
        var mean = result.PerSample.mean();
        mean.backward();

        var expected = check["expected"]!;
        Goldens.AssertClose(name, "training_check.per_sample_loss", expected["per_sample_loss"]!, ScoreNetworkGoldens.ToDoubles(result.PerSample), tol);
        Goldens.AssertClose(name, "training_check.batch_mean_loss", [expected["batch_mean_loss"]!.GetValue<double>()], [mean.to_type(ScalarType.Float64).item<double>()], tol);
        var grads = expected["grads"]!.AsObject();
        var parameters = network.named_parameters().ToDictionary(q => q.name, q => q.parameter);
        foreach (var (param, g) in grads)
        {
            Assert.True(parameters.TryGetValue(param, out var value), $"{name}: golden gradient for unknown parameter {param}");
            Assert.True(value!.grad is not null, $"{name}: parameter {param} received no gradient");
            Goldens.AssertClose(name, $"training_check.grads.{param}", g!, ScoreNetworkGoldens.ToDoubles(value.grad!), tol);
        }
        Assert.Equal(grads.Count, parameters.Count);
    }
}
