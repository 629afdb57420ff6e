using System.Text.Json;
using System.Text.Json.Serialization;

namespace Sedd.Runtime.Package;

/// <summary>
/// <c>manifest.json</c> of a model package: everything the runtime needs to sample from
/// <c>model.onnx</c> without guessing (graph, noise schedule, block length, tokenizer, ONNX contract),
/// the SHA-256 of every other file of the package, and where the weights came from. The exporter
/// writes it; <see cref="ModelPackage"/> reads and verifies it. JSON keys are snake_case.
/// </summary>
public sealed record ModelManifest
{
    /// <summary>Identifies the file kind.</summary>
    public const string FormatName = "sedd-model-package";

    /// <summary>Format version this build reads and writes.</summary>
    public const int CurrentVersion = 1;

    /// <summary>Always <see cref="FormatName"/>.</summary>
    public string Format { get; init; } = FormatName;

    /// <summary>Manifest format version.</summary>
    public int FormatVersion { get; init; } = CurrentVersion;

    /// <summary>Diffusion graph (spec §3).</summary>
    public required GraphInfo Graph { get; init; }

    /// <summary>Noise schedule the network was trained with (spec §2).</summary>
    public required NoiseInfo Noise { get; init; }

    /// <summary>Block length the network was trained on; the graph accepts 1..Length positions.</summary>
    public required int Length { get; init; }

    /// <summary>Tokenizer spec string (<see cref="Text.TokenizerSpec"/>: "gpt2" or "gpt2-N").</summary>
    public required string Tokenizer { get; init; }

    /// <summary>Network dimensions.</summary>
    public required ModelInfo Model { get; init; }

    /// <summary>The ONNX graph's contract.</summary>
    public required OnnxInfo Onnx { get; init; }

    /// <summary>Where the weights came from and what is known about their quality.</summary>
    public required ProvenanceInfo Provenance { get; init; }

    /// <summary>What the exporter compared the graph against, and the error it measured.</summary>
    public VerificationInfo? Verification { get; init; }

    /// <summary>SHA-256 (lower-case hex) of every package file except the manifest, by relative path.</summary>
    public required SortedDictionary<string, string> Files { get; init; }

    static readonly JsonSerializerOptions Json = new()
    {
        PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower,
        DictionaryKeyPolicy = null,
        WriteIndented = true,
        DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull,
        UnmappedMemberHandling = JsonUnmappedMemberHandling.Disallow,
        RespectRequiredConstructorParameters = true,
        RespectNullableAnnotations = true,
        AllowDuplicateProperties = false,   // a key given twice could be read either way: refuse it
        MaxDepth = IO.StrictJson.MaxDepth,
    };

    /// <summary>Longest block length a manifest may declare (the released models use 1024).</summary>
    public const int MaxLength = 1 << 20;

    /// <summary>Largest vocabulary a manifest may declare.</summary>
    public const int MaxTokens = 1 << 24;

    /// <summary>Largest hidden size or cond_dim a manifest may declare.</summary>
    public const int MaxWidth = 1 << 16;

    /// <summary>Most transformer blocks a manifest may declare.</summary>
    public const int MaxBlocks = 4096;

    /// <summary>The manifest as indented JSON.</summary>
    public string ToJson() => JsonSerializer.Serialize(this, Json) + "\n";

    /// <summary>
    /// Parses a manifest. Throws <see cref="SeddException"/> (bad input) for malformed JSON, a missing,
    /// unknown or repeated key, another format, a newer version, or values out of range.
    /// </summary>
    /// <param name="json">Manifest text.</param>
    /// <param name="what">Name used in messages (usually the file path).</param>
    public static ModelManifest Parse(string json, string what)
    {
        ModelManifest? m;
        try
        {
            using (var doc = JsonDocument.Parse(json, IO.StrictJson.DocumentOptions))
            {
                // Check the kind before the schema, so that another file gets a message about its kind.
                var root = doc.RootElement;
                if (root.ValueKind != JsonValueKind.Object || !root.TryGetProperty("format", out var f) || f.ValueKind != JsonValueKind.String || f.GetString() != FormatName)
                    throw new SeddException($"{what} is not a SEDD model manifest (expected \"format\": \"{FormatName}\")", SeddException.BadInput);
                if (root.TryGetProperty("format_version", out var v) && v.ValueKind == JsonValueKind.Number && v.TryGetInt32(out int version) && version != CurrentVersion)
                    throw new SeddException($"{what} has format version {version}; this build reads version {CurrentVersion}", SeddException.BadInput);
            }
            m = JsonSerializer.Deserialize<ModelManifest>(json, Json);
        }
        catch (JsonException e)
        {
            throw new SeddException($"{what} is not a valid manifest: {e.Message.Split('\n', 2)[0].TrimEnd('\r')}", SeddException.BadInput);
        }
        if (m == null) throw new SeddException($"{what} is empty", SeddException.BadInput);
        m.Validate(what);
        return m;
    }

    /// <summary>Checks the values' ranges and their agreement with each other.</summary>
    /// <param name="what">Name used in messages.</param>
    public void Validate(string what)
    {
        void Require(bool ok, string message)
        {
            if (!ok) throw new SeddException($"{what}: {message}", SeddException.BadInput);
        }
        Require(Graph.Type is "absorb" or "uniform", $"graph.type must be absorb or uniform, found '{Graph.Type}'");
        Require(Graph.Tokens is >= 2 and <= MaxTokens, $"graph.tokens must be between 2 and {MaxTokens}, found {Graph.Tokens}");
        int states = Graph.Type == "absorb" ? Graph.Tokens + 1 : Graph.Tokens;
        Require(Graph.States == states, $"graph.states is {Graph.States}, but a {Graph.Type} graph over {Graph.Tokens} tokens has {states}");
        Require(Graph.Type == "absorb" ? Graph.MaskId == Graph.Tokens : Graph.MaskId == null,
            Graph.Type == "absorb" ? $"graph.mask_id must be {Graph.Tokens} (the last state), found {Graph.MaskId}" : "a uniform graph has no mask_id");
        Require(Noise.Type is "loglinear" or "geometric", $"noise.type must be loglinear or geometric, found '{Noise.Type}'");
        Require(Noise.Type != "geometric" || (Noise.SigmaMin > 0 && Noise.SigmaMax > Noise.SigmaMin && double.IsFinite(Noise.SigmaMax!.Value)),
            $"a geometric schedule needs 0 < sigma_min < sigma_max (finite), found {Noise.SigmaMin} and {Noise.SigmaMax}");
        Require(Noise.Eps is null || Noise.Eps > 0 && Noise.Eps < 1, $"noise.eps must lie between 0 and 1, found {Noise.Eps}");
        Require(Noise.SigmaMin is null || double.IsFinite(Noise.SigmaMin.Value), $"noise.sigma_min must be a finite number, found {Noise.SigmaMin}");
        Require(Noise.SigmaMax is null || double.IsFinite(Noise.SigmaMax.Value), $"noise.sigma_max must be a finite number, found {Noise.SigmaMax}");
        Require(Length is >= 1 and <= MaxLength, $"length must be between 1 and {MaxLength}, found {Length}");
        // One sequence's log-scores (length × states floats) must fit in one buffer, whatever the batch.
        Require((long)Length * states <= int.MaxValue, $"length {Length} × {states} states is more log-scores per sequence than one buffer holds ({int.MaxValue})");
        Require(Model.HiddenSize is > 0 and <= MaxWidth && Model.NBlocks is > 0 and <= MaxBlocks && Model.NHeads > 0 && Model.HiddenSize % Model.NHeads == 0,
            $"model dimensions are inconsistent (hidden {Model.HiddenSize}, {Model.NBlocks} blocks, {Model.NHeads} heads; at most {MaxWidth} wide and {MaxBlocks} blocks)");
        Require(Model.CondDim is > 0 and <= MaxWidth, $"model.cond_dim must be between 1 and {MaxWidth}, found {Model.CondDim}");
        Require(Model.Parameters > 0, $"model.parameters must be positive, found {Model.Parameters}");
        if (Provenance.Evaluation is { } e)
        {
            Require(double.IsFinite(e.PerplexityBound) && e.PerplexityBound >= 1, $"provenance.evaluation.perplexity_bound must be a finite number ≥ 1, found {e.PerplexityBound}");
            Require(e.NatsPerToken is null || double.IsFinite(e.NatsPerToken.Value) && e.NatsPerToken >= 0, $"provenance.evaluation.nats_per_token must be a finite number ≥ 0, found {e.NatsPerToken}");
            Require(e.StandardError is null || double.IsFinite(e.StandardError.Value) && e.StandardError >= 0, $"provenance.evaluation.standard_error must be a finite number ≥ 0, found {e.StandardError}");
            Require(e.Samples is null or > 0, $"provenance.evaluation.samples must be positive, found {e.Samples}");
        }
        if (Verification is { } v)
        {
            Require(v.MaxAbsDiff is null || double.IsFinite(v.MaxAbsDiff.Value) && v.MaxAbsDiff >= 0, $"verification.max_abs_diff must be a finite number ≥ 0, found {v.MaxAbsDiff}");
            Require(v.MaxAbsDiffVsFp32 is null || double.IsFinite(v.MaxAbsDiffVsFp32.Value) && v.MaxAbsDiffVsFp32 >= 0, $"verification.max_abs_diff_vs_fp32 must be a finite number ≥ 0, found {v.MaxAbsDiffVsFp32}");
            Require(v.Cases >= 0, $"verification.cases must not be negative, found {v.Cases}");
        }
        Require(Model.Parameterization is "score" || Model.Parameterization == "normalized" && Graph.Type == "absorb" && Model.ScaleBySigma,
            $"model.parameterization must be score, or normalized for an absorbing graph scaled by σ, found '{Model.Parameterization}'");
        Require(Onnx.Inputs.Count == 2 && Onnx.Outputs.Count == 1, "onnx must declare two inputs (indices, sigma) and one output (log-score)");
        Require(Onnx.Precision is "fp32" or "fp16" or "int8", $"onnx.precision must be fp32, fp16 or int8, found '{Onnx.Precision}'");
        PackagePaths.RequireInside(Onnx.File, what);
        Require(Files.ContainsKey(Onnx.File), $"files lists no checksum for the ONNX file {Onnx.File}");
        Require(!Files.ContainsKey(ModelPackage.ManifestFile), $"files lists {ModelPackage.ManifestFile}, which cannot hold its own checksum");
        foreach (var (path, hash) in Files)
        {
            PackagePaths.RequireInside(path, what);
            Require(hash.Length == 64 && hash.All(char.IsAsciiHexDigitLower), $"files[{path}] is not a lower-case SHA-256 hex digest");
        }
    }

    /// <summary>The noise schedule the manifest names.</summary>
    public Noise.NoiseSchedule CreateNoise() => Runtime.Noise.NoiseSchedule.Create(Noise.Type, Noise.SigmaMin ?? 1e-4, Noise.SigmaMax ?? 20);

    /// <summary>The sampling graph the manifest names.</summary>
    public Sampling.SamplingGraph CreateGraph() => Sampling.SamplingGraph.Create(Graph.Type, Graph.Tokens);
}

/// <summary>Diffusion graph of a package.</summary>
public sealed record GraphInfo
{
    /// <summary>"absorb" or "uniform".</summary>
    public required string Type { get; init; }

    /// <summary>Real tokens V (the tokenizer's ids including EOS).</summary>
    public required int Tokens { get; init; }

    /// <summary>States D the network scores: V + 1 for absorb (the mask), V for uniform.</summary>
    public required int States { get; init; }

    /// <summary>Mask id (= V) for absorb; null for uniform.</summary>
    public int? MaskId { get; init; }
}

/// <summary>Noise schedule of a package (spec §2).</summary>
public sealed record NoiseInfo
{
    /// <summary>"loglinear" or "geometric".</summary>
    public required string Type { get; init; }

    /// <summary>Log-linear ε (1e-3 in the reference).</summary>
    public double? Eps { get; init; }

    /// <summary>Geometric σ_min.</summary>
    public double? SigmaMin { get; init; }

    /// <summary>Geometric σ_max.</summary>
    public double? SigmaMax { get; init; }
}

/// <summary>Network dimensions (spec §5).</summary>
public sealed record ModelInfo
{
    /// <summary>Hidden size H.</summary>
    public required int HiddenSize { get; init; }

    /// <summary>Noise-conditioning width.</summary>
    public required int CondDim { get; init; }

    /// <summary>Transformer blocks.</summary>
    public required int NBlocks { get; init; }

    /// <summary>Attention heads.</summary>
    public required int NHeads { get; init; }

    /// <summary>Trainable parameters.</summary>
    public required long Parameters { get; init; }

    /// <summary>Output scaled by σ (spec §5.7; absorb).</summary>
    public required bool ScaleBySigma { get; init; }

    /// <summary>The network ignores σ̄ (its conditioning input is 0), so outputs at two noise levels differ only by §5.7's shift.</summary>
    public required bool TimeIndependent { get; init; }

    /// <summary>
    /// How the graph turns the network's output into log-scores: "score" (the default, SEDD's; packages
    /// without the key) or "normalized" (absorb only: log_softmax over the real tokens minus ln expm1s(σ̄),
    /// as in RADD). Informational for samplers: <c>log_score</c> means the same in both.
    /// </summary>
    public string Parameterization { get; init; } = "score";
}

/// <summary>The ONNX graph's contract.</summary>
public sealed record OnnxInfo
{
    /// <summary>Graph file, relative to the package folder.</summary>
    public string File { get; init; } = "model.onnx";

    /// <summary>Default-domain opset.</summary>
    public required int Opset { get; init; }

    /// <summary>Weight precision: fp32, fp16 or int8 (inputs and outputs are fp32 in every variant).</summary>
    public string Precision { get; init; } = "fp32";

    /// <summary>Inputs in order: token indices and σ̄.</summary>
    public required List<TensorInfo> Inputs { get; init; }

    /// <summary>Outputs: the log-score.</summary>
    public required List<TensorInfo> Outputs { get; init; }
}

/// <summary>One ONNX input or output.</summary>
public sealed record TensorInfo
{
    /// <summary>Name in the graph.</summary>
    public required string Name { get; init; }

    /// <summary>Element type: "int64" or "float32".</summary>
    public required string Type { get; init; }

    /// <summary>Dimensions: symbolic names ("batch", "seq") or sizes as strings.</summary>
    public required List<string> Shape { get; init; }
}

/// <summary>Where the weights came from.</summary>
public sealed record ProvenanceInfo
{
    /// <summary>"sedd-train", "hf" or "pth".</summary>
    public required string Source { get; init; }

    /// <summary>Training corpus, if known.</summary>
    public string? Corpus { get; init; }

    /// <summary>Optimizer steps.</summary>
    public long? Steps { get; init; }

    /// <summary>Training tokens seen.</summary>
    public long? Tokens { get; init; }

    /// <summary>Which weights were exported: "ema" or "online".</summary>
    public string Weights { get; init; } = "ema";

    /// <summary>Evaluation result, if the checkpoint had one.</summary>
    public EvaluationInfo? Evaluation { get; init; }

    /// <summary>UTC time of the export (ISO 8601).</summary>
    public string? ExportedAt { get; init; }

    /// <summary>Exporter version.</summary>
    public string? Exporter { get; init; }
}

/// <summary>A perplexity bound measured on a split.</summary>
public sealed record EvaluationInfo
{
    /// <summary>Corpus split ("test", "valid").</summary>
    public required string Split { get; init; }

    /// <summary>Perplexity upper bound (spec §4.3).</summary>
    public required double PerplexityBound { get; init; }

    /// <summary>Diffusion term in nats per token.</summary>
    public double? NatsPerToken { get; init; }

    /// <summary>Monte-Carlo standard error of the nats per token.</summary>
    public double? StandardError { get; init; }

    /// <summary>Time samples per sequence.</summary>
    public int? Samples { get; init; }
}

/// <summary>The exporter's parity check of the graph.</summary>
public sealed record VerificationInfo
{
    /// <summary>"torchsharp", "golden" or "none".</summary>
    public required string Reference { get; init; }

    /// <summary>Largest |ONNX − reference| over all cases (null when not verified).</summary>
    public double? MaxAbsDiff { get; init; }

    /// <summary>Inputs compared (batch × length × σ combinations).</summary>
    public int Cases { get; init; }

    /// <summary>For fp16/int8 packages: largest |variant − fp32 graph| over the same inputs.</summary>
    public double? MaxAbsDiffVsFp32 { get; init; }
}
