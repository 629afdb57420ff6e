using Sedd.Exporter;
using Sedd.Runtime.IO;
using Sedd.Runtime.Package;
using Sedd.Runtime.Text;

namespace Sedd.Runtime.Tests.Onnx;

/// <summary>
/// A tiny model package written in a temporary folder: a 1-block, width-16 SEDD score network over the
/// 257-token gpt2-256 vocabulary (absorb: 258 states) with seeded random weights, exported by the
/// exporter's graph builder, plus a manifest written here (the exporter's package writer is separate).
/// </summary>
public sealed class TinyPackage : IDisposable
{
    public const string Tokenizer = "gpt2-256";
    public const int Tokens = 257;
    public const int States = Tokens + 1;

    // Ids of the printable ASCII bytes (GPT-2 orders its byte tokens by its own byte-to-unicode map).
    static readonly HashSet<int> Printable = [.. Enumerable.Range(32, 95).Select(c => SeddTokenizer.Create(Tokenizer).Encode(((char)c).ToString())[0])];

    TinyPackage(string folder, ModelManifest manifest, ScoreNetworkArchitecture architecture, Dictionary<string, SafeTensor> weights)
    {
        Folder = folder;
        Manifest = manifest;
        Architecture = architecture;
        Weights = weights;
    }

    public string Folder { get; }

    public ModelManifest Manifest { get; }

    public ScoreNetworkArchitecture Architecture { get; }

    public Dictionary<string, SafeTensor> Weights { get; }

    public string OnnxPath => Path.Combine(Folder, "model.onnx");

    /// <summary>Writes a package; <paramref name="edit"/> may change the manifest before it is written; with
    /// <paramref name="externalData"/> the weights go to <c>model.onnx.data</c> (listed) as large exports do.</summary>
    public static TinyPackage Create(int length = 32, bool timeIndependent = false, int seed = 7, Func<ModelManifest, ModelManifest>? edit = null,
        string parameterization = "score", bool externalData = false)
    {
        var arch = new ScoreNetworkArchitecture
        {
            Vocab = States, HiddenSize = 16, Heads = 2, CondDim = 8, Blocks = 1, MlpHidden = 64,
            ScaleBySigma = true, MaxLength = length, TimeIndependent = timeIndependent, Parameterization = parameterization,
        };
        var random = new Random(seed);
        var weights = new Dictionary<string, SafeTensor>(StringComparer.Ordinal);
        long parameters = 0;
        foreach (var (name, shape) in arch.ParameterShapes())
        {
            var values = new float[shape.Aggregate(1L, (a, d) => a * d)];
            // Norm weights near 1; everything else random, large enough that the log-scores vary by several nats.
            bool norm = name.Contains("norm", StringComparison.Ordinal);
            for (int i = 0; i < values.Length; i++) values[i] = norm ? 1 + 0.1f * Gaussian(random) : 0.5f * Gaussian(random);
            // A quiet output layer that favours printable ASCII, so samples are readable text that differs by seed.
            if (name == "output_layer.linear.weight")
                for (int i = 0; i < values.Length; i++) values[i] *= 0.1f;
            if (name == "output_layer.linear.bias")
                for (int y = 0; y < values.Length; y++) values[y] = Printable.Contains(y) ? 2 : -6;
            weights[name] = SafeTensor.FromFloats(values, shape);
            parameters += values.Length;
        }
        var folder = Path.Combine(Path.GetTempPath(), "sedd-tiny-" + Guid.NewGuid().ToString("N")[..12]);
        Directory.CreateDirectory(folder);
        OnnxModelFile.Write(ScoreNetworkGraph.Build(arch, weights), Path.Combine(folder, "model.onnx"), externalThreshold: externalData ? 1024 : -1);
        Safetensors.Write(Path.Combine(folder, "model.safetensors"), weights);
        File.WriteAllText(Path.Combine(folder, "README.md"), "Tiny random SEDD package for tests.\n");
        var manifest = new ModelManifest
        {
            Graph = new GraphInfo { Type = "absorb", Tokens = Tokens, States = States, MaskId = Tokens },
            Noise = new NoiseInfo { Type = "loglinear", Eps = 1e-3 },
            Length = length,
            Tokenizer = Tokenizer,
            Model = new ModelInfo
            {
                HiddenSize = arch.HiddenSize, CondDim = arch.CondDim, NBlocks = arch.Blocks, NHeads = arch.Heads,
                Parameters = parameters, ScaleBySigma = true, TimeIndependent = timeIndependent, Parameterization = parameterization,
            },
            Onnx = new OnnxInfo
            {
                Opset = ScoreNetworkGraph.Opset,
                Inputs = [new() { Name = "indices", Type = "int64", Shape = ["batch", "seq"] }, new() { Name = "sigma", Type = "float32", Shape = ["batch"] }],
                Outputs = [new() { Name = "log_score", Type = "float32", Shape = ["batch", "seq", States.ToString(System.Globalization.CultureInfo.InvariantCulture)] }],
            },
            Provenance = new ProvenanceInfo { Source = "sedd-train", Corpus = "random", Evaluation = new EvaluationInfo { Split = "test", PerplexityBound = 123.4 } },
            Verification = new VerificationInfo { Reference = "none" },
            Files = new SortedDictionary<string, string>(StringComparer.Ordinal),
        };
        foreach (var file in new[] { "model.onnx", "model.safetensors", "README.md", "model.onnx.data" })
            if (File.Exists(Path.Combine(folder, file))) manifest.Files[file] = PackagePaths.Sha256(Path.Combine(folder, file));
        if (edit != null) manifest = edit(manifest);
        File.WriteAllText(Path.Combine(folder, ModelPackage.ManifestFile), manifest.ToJson());
        return new TinyPackage(folder, manifest, arch, weights);
    }

    public ModelPackage Open() => ModelPackage.Open(Folder);

    public void Dispose()
    {
        try { Directory.Delete(Folder, recursive: true); }
        catch (IOException) { }
    }

    static float Gaussian(Random r) => (float)(Math.Sqrt(-2 * Math.Log(1 - r.NextDouble())) * Math.Cos(2 * Math.PI * r.NextDouble()));
}
