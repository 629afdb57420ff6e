using System.Globalization;
using Cocona;
using Cocona.Application;
using Sedd.Cli;
using Sedd.Runtime;
using Sedd.Runtime.IO;

namespace Sedd.Compare;

/// <summary>
/// <c>sedd-compare</c>: the exported ONNX graph beside the trainer's TorchSharp forward on the same
/// weights and threads. Option names follow the other Sedd tools: <c>-m/--model</c>, <c>-t/--threads</c>,
/// <c>-o/--output</c>, <c>--batch-sizes</c> for a list. Failures are one line on stderr; exit codes 1
/// usage, 2 bad input, 3 environment, 130 cancelled.
/// </summary>
sealed class CompareCommand(ICoconaAppContextAccessor context)
{
    /// <summary>Runs the comparison and prints the report (and writes it to <paramref name="output"/>).</summary>
    [Command(Description = "Time the exported ONNX score network (ONNX Runtime) against the trainer's TorchSharp forward on the same weights and threads, with a matmul peak, the sampler's host share, rows evaluated and allocations, and PASS/MISS per target. Measures the AVX2 path on an AVX-512 machine when run with DOTNET_EnableAVX512=0.")]
    public int Compare(
        [Option("model", ['m'], Description = "fp32 model package (default: $SEDD_MODEL, else the one package in models/)")] string? model = null,
        [Option("int8", Description = "int8 package of the same model (sedd-export --precision int8), timed as well")] string? int8 = null,
        [Option("threads", ['t'], Description = "intra-op threads for libtorch, ONNX Runtime and the sampler alike")] int threads = 1,
        [Option("batch-sizes", Description = "comma-separated batch sizes")] string batchSizes = "1,8",
        [Option("length", Description = "sequence length (0 = the model's)")] int length = 0,
        [Option("runs", Description = "timed rounds per batch size")] int runs = 10,
        [Option("warmup", Description = "untimed rounds per batch size first")] int warmup = 3,
        [Option("steps", Description = "predictor steps of each sampling run")] int steps = 32,
        [Option("output", ['o'], Description = "also write the report to this file (replaced atomically)")] string? output = null,
        [Option("bound-data", Description = "prepared data folder: also compute the test bound of the fp32 (and int8) package through ONNX Runtime")] string? boundData = null,
        [Option("bound-blocks", Description = "blocks of the test split for the bound (0 = all)")] int boundBlocks = 200,
        [Option("bound-samples", Description = "K: time samples per sequence for the bound")] int boundSamples = 4)
    {
        var settings = Settings(model, int8, threads, batchSizes, length, runs, warmup, steps);
        if (boundData != null && (boundBlocks < 0 || boundSamples < 1))
            throw new SeddException($"--bound-blocks must be ≥ 0 and --bound-samples ≥ 1, got {boundBlocks} and {boundSamples}", SeddException.Usage);
        if (output != null) RequireWritable(output);
        using var cancel = ConsoleInterrupt.Link(context.Current?.CancellationToken ?? CancellationToken.None);
        using var text = new StringWriter(CultureInfo.InvariantCulture);
        // Progress goes to stderr as it is measured; the report (stdout and the file) comes whole at the end.
        CompareRun.Run(settings, text, Console.Error, cancel.Token);
        if (boundData != null) PackageBound.Report(settings.Package, settings.Int8, boundData, boundBlocks, boundSamples, threads, text, Console.Error, cancel.Token);
        Console.Write(text.ToString());
        if (output != null) AtomicFile.WriteAllText(output, text.ToString());
        return 0;
    }

    /// <summary>Checks the options and resolves the package; every problem is one usage line.</summary>
    internal static CompareSettings Settings(string? model, string? int8, int threads, string batchSizes, int length, int runs, int warmup, int steps)
    {
        if (threads < 1 || threads > ThreadCount.Max) throw new SeddException($"--threads must lie in 1 … {ThreadCount.Max}, got {threads}", SeddException.Usage);
        if (runs < 1 || warmup < 0) throw new SeddException($"--runs must be ≥ 1 and --warmup ≥ 0, got {runs} and {warmup}", SeddException.Usage);
        if (steps < 1 || steps > 100_000) throw new SeddException($"--steps must lie in 1 … 100,000, got {steps}", SeddException.Usage);
        if (length < 0) throw new SeddException($"--length must be ≥ 1 (or 0 for the model's), got {length}", SeddException.Usage);
        var sizes = ParseBatchSizes(batchSizes);
        return new CompareSettings(ModelLocator.Resolve(model), int8 is null ? null : UserFiles.RequirePathArgument(int8, "--int8"), threads, sizes, length, runs, warmup, steps);
    }

    /// <summary>Parses "1,8": positive sizes up to 4096; a usage error naming the bad entry otherwise.</summary>
    internal static int[] ParseBatchSizes(string list)
    {
        var parts = list.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        var result = new int[parts.Length];
        for (int i = 0; i < parts.Length; i++)
            if (!int.TryParse(parts[i], NumberStyles.None, CultureInfo.InvariantCulture, out result[i]) || result[i] < 1 || result[i] > 4096)
                throw new SeddException($"--batch-sizes takes comma-separated sizes from 1 to 4096 such as 1,8; '{TerminalText.Neutralise(parts[i], keepNewlines: false)}' is not one", SeddException.Usage);
        if (result.Length == 0) throw new SeddException("--batch-sizes needs at least one size, e.g. 1,8", SeddException.Usage);
        return result;
    }

    // Before minutes of measuring: the report must have somewhere to go (a regular file or a new one,
    // in a folder that exists; never a FIFO or device, which would block or swallow it).
    static void RequireWritable(string path)
    {
        UserFiles.RequirePathArgument(path, "--output");
        var kind = FileKinds.Of(path);
        if (kind is not (FileKind.Missing or FileKind.Regular))
            throw new SeddException($"--output {TerminalText.Neutralise(path, keepNewlines: false)} is {FileKinds.Describe(kind)}; expected the path of a file to write", SeddException.Usage);
        var folder = Path.GetDirectoryName(Path.GetFullPath(path));
        if (folder is null || FileKinds.Of(folder) != FileKind.Directory)
            throw new SeddException($"--output {TerminalText.Neutralise(path, keepNewlines: false)}: the folder {TerminalText.Neutralise(folder, keepNewlines: false)} does not exist", SeddException.Environment);
    }
}
