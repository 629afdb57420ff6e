using Sedd.Runtime.IO;

namespace Sedd.Exporter.Precision;

/// <summary>
/// Seeded random weights for any <see cref="ScoreNetworkArchitecture"/>, for precision tests and
/// timings where a trained checkpoint is not at hand. Scales follow PyTorch's default Linear init
/// (uniform ±1/√fan_in) so activations keep a trained-like O(1) size; unlike SEDD's own init the adaLN
/// and output layers are not zeroed, otherwise every variant would trivially output the same zeros.
/// </summary>
static class RandomScoreNetwork
{
    /// <summary>All parameters of <paramref name="architecture"/> (spec §5.8 names), reproducible from <paramref name="seed"/>.</summary>
    internal static Dictionary<string, SafeTensor> Weights(ScoreNetworkArchitecture architecture, int seed)
    {
        var random = new Random(seed);
        var weights = new Dictionary<string, SafeTensor>(StringComparer.Ordinal);
        foreach (var (name, shape) in architecture.ParameterShapes())
        {
            var values = new float[shape.Aggregate(1L, (a, d) => a * d)];
            if (name.EndsWith("norm1.weight", StringComparison.Ordinal) || name.EndsWith("norm2.weight", StringComparison.Ordinal)
                || name.EndsWith("norm_final.weight", StringComparison.Ordinal))
                for (int i = 0; i < values.Length; i++) values[i] = 1f + 0.1f * (2 * random.NextSingle() - 1);
            else
            {
                // embedding rows ~ unit scale; Linear weights and biases ±1/√fan_in (fan_in = last dim of the weight)
                double bound = name == "vocab_embed.embedding" ? 1 : 1 / Math.Sqrt(FanIn(architecture, name, shape));
                for (int i = 0; i < values.Length; i++) values[i] = (float)(bound * (2 * random.NextDouble() - 1));
            }
            weights[name] = SafeTensor.FromFloats(values, shape);
        }
        return weights;
    }

    static long FanIn(ScoreNetworkArchitecture a, string name, long[] shape)
    {
        if (shape.Length == 2) return shape[1];
        var weight = name[..^"bias".Length] + "weight";   // a bias takes its weight's fan-in
        return a.ParameterShapes().First(p => p.Name == weight).Shape[1];
    }
}
