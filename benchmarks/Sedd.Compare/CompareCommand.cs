using System.Globalization;
using Cocona;
using Sedd.Runtime;

namespace Sedd.Compare;

/// <summary>
/// <c>sedd-compare</c>: the benchmark of issue 4 point 6 that sets the exported ONNX graph beside the
/// trainer's TorchSharp forward. Failures are one line on stderr; exit codes as <c>sedd</c>'s (1 usage,
/// 2 bad input, 3 environment, 70 internal error).
/// </summary>
sealed class CompareCommand
{
    /// <summary>Runs the comparison and prints the report (and writes it to <paramref name="out"/>).</summary>
    [Command(Description = "Time the exported ONNX score network against the trainer's TorchSharp forward on the same weights and threads, with a matmul peak, the sampler's host share and allocations, and PASS/MISS per target of issue 4 point 6.")]
    public int Compare(
        [Option(Description = "fp32 model package folder (manifest.json, model.onnx, model.safetensors)")] string package,
        [Option(Description = "int8 package of the same model (sedd-export --precision int8), timed as well")] string? int8 = null,
        [Option(Description = "intra-op threads for libtorch and ONNX Runtime alike")] int threads = 1,
        [Option(Description = "comma-separated batch sizes")] string batches = "1,8",
        [Option(Description = "sequence length (0 = the manifest's)")] int length = 0,
        [Option(Description = "timed rounds per batch")] int runs = 10,
        [Option(Description = "untimed rounds per batch first")] int warmup = 3,
        [Option(Description = "predictor steps of the sampling runs")] int steps = 32,
        [Option(Description = "also write the report to this file (e.g. docs/results/compare.txt)")] string? @out = null,
        [Option("bound-data", Description = "prepared data folder: also compute the test bound of the fp32 (and int8) package through ONNX Runtime")] string? boundData = null,
        [Option("bound-blocks", Description = "blocks of the test split for the bound (0 = all)")] int boundBlocks = 200,
        [Option("bound-samples", Description = "K time samples per sequence for the bound")] int boundSamples = 4)
    {
        if (threads < 1) throw new SeddException($"--threads must be at least 1, got {threads}", SeddException.Usage);
        if (runs < 1 || warmup < 0) throw new SeddException($"--runs must be ≥ 1 and --warmup ≥ 0, got {runs} and {warmup}", SeddException.Usage);
        if (steps < 1) throw new SeddException($"--steps must be at least 1, got {steps}", SeddException.Usage);
        if (length < 0) throw new SeddException($"--length must be ≥ 1 (or 0 for the manifest's), got {length}", SeddException.Usage);
        var settings = new CompareSettings(package, int8, threads, ParseBatches(batches), length, runs, warmup, steps);
        using var text = new StringWriter(CultureInfo.InvariantCulture);
        CompareRun.Run(settings, text);
        if (boundData != null) Bounds(package, int8, boundData, boundBlocks, boundSamples, threads, text);
        Console.Write(text.ToString());
        if (@out != null) WriteOut(@out, text.ToString());
        return 0;
    }

    static void Bounds(string package, string? int8, string data, int blocks, int samples, int threads, TextWriter o)
    {
        if (blocks < 0 || samples < 1) throw new SeddException($"--bound-blocks must be ≥ 0 and --bound-samples ≥ 1, got {blocks} and {samples}", SeddException.Usage);
        o.WriteLine();
        o.WriteLine($"perplexity bound through ONNX Runtime, test split of {data}, {(blocks == 0 ? "all" : blocks.ToString(CultureInfo.InvariantCulture))} blocks, K = {samples}, same draws for every package:");
        double? fp32 = null;
        foreach (var (name, folder) in new[] { ("fp32", package), ("int8", int8) })
        {
            if (folder == null) continue;
            var r = Sedd.Compare.PackageBound.Run(folder, data, "test", blocks, samples, threads);
            o.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"  {name}: diffusion {r.Diffusion:F4} ± {r.StandardError:F4} nats/token + prior {r.Prior:F4} → perplexity ≤ {r.Perplexity:F2} ({r.Tokens:N0} tokens, {r.Seconds:F0} s)"));
            if (name == "fp32") fp32 = r.Total;
            else if (fp32 is double f) o.WriteLine(string.Create(CultureInfo.InvariantCulture, $"  int8 − fp32: {Signed(r.Total - f, "F5")} nats/token ({Signed(100 * (Math.Exp(r.Total - f) - 1), "F3")} % on the perplexity bound)"));
        }
    }

    static string Signed(double v, string format) => (v < 0 ? "-" : "+") + Math.Abs(v).ToString(format, CultureInfo.InvariantCulture);

    static int[] ParseBatches(string list)
    {
        var parts = list.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        var result = new int[parts.Length];
        for (int i = 0; i < parts.Length; i++)
            if (!int.TryParse(parts[i], NumberStyles.None, CultureInfo.InvariantCulture, out result[i]) || result[i] < 1)
                throw new SeddException($"--batches takes comma-separated positive sizes such as 1,8; '{parts[i]}' is not one", SeddException.Usage);
        if (result.Length == 0) throw new SeddException("--batches needs at least one size, e.g. 1,8", SeddException.Usage);
        return result;
    }

    static void WriteOut(string path, string text)
    {
        try
        {
            var folder = Path.GetDirectoryName(Path.GetFullPath(path));
            if (folder != null) Directory.CreateDirectory(folder);
            File.WriteAllText(path, text);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new SeddException($"cannot write --out {path}: {e.Message}", SeddException.BadInput);
        }
    }
}
