using System.Text.Json.Nodes;
using Sedd.Runtime.Noise;
using Sedd.Tests;
using Sedd.Trainer.Diffusion;
using Xunit.Sdk;
using static TorchSharp.torch;

namespace Sedd.Trainer.Tests.Diffusion;

/// <summary>Golden JSON ↔ TorchSharp tensors, and the per-precision settings the Diffusion tests share.</summary>
static class GoldenTensors
{
    /// <summary>Every golden float case runs in both precisions; the tolerance follows the dtype.</summary>
    public static readonly string[] Precisions = ["float64", "float32"];

    public static ScalarType DtypeOf(string precision) => precision switch
    {
        "float64" => ScalarType.Float64,
        "float32" => ScalarType.Float32,
        _ => throw new XunitException($"unknown precision {precision}"),
    };

    public static Tolerance ToleranceOf(ScalarType dtype) => dtype == ScalarType.Float64 ? Tolerance.Float64 : Tolerance.Float32;

    /// <summary>Integer-valued golden tensors (token ids, absorb rates) are compared exactly.</summary>
    public static readonly Tolerance Exact = new(0, 0);

    public static Tensor Floats(JsonNode node, ScalarType dtype)
    {
        var (data, shape) = Goldens.Tensor(node);
        return tensor(data, Array.ConvertAll(shape, s => (long)s), dtype);
    }

    public static Tensor Longs(JsonNode node)
    {
        var shape = Goldens.Shape(node);
        return tensor(Goldens.Longs(node), Array.ConvertAll(shape, s => (long)s), ScalarType.Int64);
    }

    /// <summary>A per-row noise input (<c>[B,1]</c> in graph files, <c>[B]</c> elsewhere) as host doubles.</summary>
    public static double[] PerRow(JsonNode node) => Goldens.Doubles(node);

    public static double[] Doubles(Tensor t)
    {
        using var d = t.detach().to(ScalarType.Float64, CPU).contiguous();
        return d.data<double>().ToArray();
    }

    public static long[] LongValues(Tensor t)
    {
        using var d = t.detach().to(ScalarType.Int64, CPU).contiguous();
        return d.data<long>().ToArray();
    }

    /// <summary>True when the tensor's JSON leaves are written as integers (the README's integer tensors).</summary>
    public static bool IsIntegerTensor(JsonNode node)
    {
        var leaf = node;
        while (leaf is JsonArray a) leaf = a.Count > 0 ? a[0] : null;
        var text = leaf?.ToJsonString() ?? "";
        return text.Length > 0 && text.IndexOfAny(['.', 'e', 'E']) < 0;
    }

    /// <summary>Compares a tensor with a golden field: exactly for integer tensors, else within <paramref name="tol"/>.</summary>
    public static void Check(string caseName, JsonNode expected, string field, Tensor actual, Tolerance tol)
    {
        var node = expected[field] ?? throw new XunitException($"{caseName}: golden has no expected.{field}");
        if (actual.dtype == ScalarType.Int64)
            Goldens.AssertEqual(caseName, field, node, LongValues(actual));
        else
        {
            Assert.Equal(Goldens.Shape(node).Select(s => (long)s), actual.shape);
            Goldens.AssertClose(caseName, field, node, Doubles(actual), IsIntegerTensor(node) ? Exact : tol);
        }
    }

    /// <summary>Host doubles against a golden field (per-row scalars such as sigma, dsigma).</summary>
    public static void Check(string caseName, JsonNode expected, string field, double[] actual, Tolerance tol)
    {
        var node = expected[field] ?? throw new XunitException($"{caseName}: golden has no expected.{field}");
        Goldens.AssertClose(caseName, field, node, actual, tol);
    }

    /// <summary>The schedule a case's <c>params.noise</c> names.</summary>
    public static NoiseSchedule Noise(JsonNode noise) => (string)noise["type"]! switch
    {
        "loglinear" => new LogLinearNoise(noise["eps"]!.GetValue<double>()),
        "geometric" => new GeometricNoise(noise["sigma_min"]!.GetValue<double>(), noise["sigma_max"]!.GetValue<double>()),
        var other => throw new XunitException($"unknown noise type {other}"),
    };

    /// <summary>The graph a loss/sampler case's params name (<c>graph</c> and <c>dim</c> = D).</summary>
    public static Graph GraphOf(JsonNode p)
    {
        long dim = p["dim"]!.GetValue<long>();
        return (string)p["graph"]! switch
        {
            "absorb" => new AbsorbingGraph(dim - 1),
            "uniform" => new UniformGraph(dim),
            var other => throw new XunitException($"unknown graph {other}"),
        };
    }

    /// <summary>
    /// The log-score an untrained absorb model emits (spec §5.9): −ln expm1s(σ̄_b) − ln V off the
    /// current token, 0 at it. Per-row value in double, like the model's output scaling.
    /// </summary>
    public static Tensor UntrainedAbsorbLogScore(Tensor x, ReadOnlySpan<double> sigma, long realTokens, ScalarType dtype)
    {
        var value = new double[sigma.Length];
        for (int b = 0; b < value.Length; b++) value[b] = -Math.Log(Runtime.SeddMath.Expm1s(sigma[b])) - Math.Log(realTokens);
        var rows = tensor(value, [value.Length, 1, 1], dtype, x.device);
        var index = x.unsqueeze(-1);
        return rows.expand(x.shape[0], x.shape[1], realTokens + 1).contiguous().scatter_(-1, index, zeros(index.shape, dtype, x.device));
    }
}
