using System.Globalization;
using Sedd.Exporter;
using Sedd.Runtime;

// sedd-export <checkpoint-folder> <out.onnx> [--max-length N]
// Minimal entry point of this slice: the authors' hub layout in, one ONNX file (plus .data when large) out,
// then one ORT run on a small input as a smoke check. Exit codes: 0 ok, 1 usage, 2 bad input, 3 environment.
try
{
    if (args.Length is not (2 or 4) || (args.Length == 4 && args[2] != "--max-length"))
        throw new SeddException("usage: sedd-export <checkpoint-folder> <out.onnx> [--max-length N]", SeddException.Usage);
    int? maxLength = null;
    if (args.Length == 4)
        maxLength = int.TryParse(args[3], NumberStyles.None, CultureInfo.InvariantCulture, out var n) && n > 0
            ? n : throw new SeddException($"--max-length expects a positive integer, got '{args[3]}'", SeddException.Usage);

    var checkpoint = HubCheckpoint.Load(args[0], maxLength);
    var model = ScoreNetworkGraph.Build(checkpoint.Architecture, checkpoint.Weights, checkpoint.Metadata);
    var data = OnnxModelFile.Write(model, args[1]);

    // Smoke check: batch 1, min(8, max length) positions of token 0, σ̄ = 1; output must be finite.
    int length = Math.Min(8, checkpoint.Architecture.MaxLength);
    using var session = new ScoreNetworkSession(args[1]);
    var (y, _) = session.Run(new long[length], [1f], length);
    if (!Array.TrueForAll(y, float.IsFinite))
        throw new SeddException($"{args[1]} was written but produces non-finite log-scores on a test input", SeddException.BadInput);

    var a = checkpoint.Architecture;
    Console.WriteLine($"wrote {args[1]}{(data != null ? $" + {Path.GetFileName(data)}" : "")}: vocab {a.Vocab}, hidden {a.HiddenSize}, " +
        $"{a.Blocks} blocks × {a.Heads} heads, max length {a.MaxLength}; ONNX Runtime check passed");
    return 0;
}
catch (SeddException e)
{
    Console.Error.WriteLine($"sedd-export: {e.Message}");
    return e.ExitCode;
}
