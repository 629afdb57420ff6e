using System.Diagnostics;
using System.Globalization;
using Onnx;
using Sedd.Exporter.Precision;
using Sedd.Exporter.Sources;
using Sedd.Exporter.Verification;
using Sedd.Runtime;
using Sedd.Runtime.IO;
using Sedd.Runtime.Package;

namespace Sedd.Exporter;

/// <summary>What one export produced.</summary>
/// <param name="Folder">The package folder.</param>
/// <param name="Manifest">Its manifest.</param>
/// <param name="Bytes">Total size of its files.</param>
/// <param name="Elapsed">Wall time of the export, verification included.</param>
/// <param name="Verification">The verification line.</param>
public sealed record ExportResult(string Folder, ModelManifest Manifest, long Bytes, TimeSpan Elapsed, string Verification);

/// <summary>
/// Writes a model package (issue 3 point 1): model.onnx (+ external data), model.safetensors,
/// README.md and manifest.json with the SHA-256 of every other file. Everything is written into a
/// temporary folder beside the destination, verified, reopened with <see cref="ModelPackage.Open"/>, and
/// only then moved to its name; an existing package is replaced only with <c>force</c>, by moving
/// it aside first and back if the move fails. Any failure deletes the temporary folder, so no
/// half-written package ever carries the final name.
/// </summary>
public static class PackageWriter
{
    /// <summary>Parity check, model card and manifest, then the atomic move.</summary>
    /// <param name="source">The checkpoint to export.</param>
    /// <param name="output">Destination folder.</param>
    /// <param name="precision">"fp32", "fp16" or "int8".</param>
    /// <param name="force">Replace an existing destination.</param>
    /// <param name="evaluation">Evaluation to record, if known.</param>
    /// <param name="log">Where progress and the verification warning go.</param>
    /// <param name="faultAfter">Test hook called after each file is written; throwing simulates a disk error.</param>
    /// <param name="notes">Markdown appended to the model card.</param>
    public static ExportResult Write(ExportSource source, string output, string precision, bool force, EvaluationInfo? evaluation,
        TextWriter log, Action<string>? faultAfter = null, string? notes = null)
    {
        ArgumentNullException.ThrowIfNull(source);
        ArgumentNullException.ThrowIfNull(output);
        ArgumentNullException.ThrowIfNull(log);
        if (precision is not ("fp32" or "fp16" or "int8")) throw new SeddException($"--precision must be fp32, fp16 or int8, got '{precision}'", SeddException.Usage);
        var clock = Stopwatch.StartNew();
        var final = Path.GetFullPath(output.TrimEnd('/', Path.DirectorySeparatorChar) is { Length: > 0 } o ? o : output);
        if (File.Exists(final)) throw new SeddException($"--out {output} is a file; a model package is a folder", SeddException.Usage);
        if (Directory.Exists(final) && !force) throw new SeddException($"--out {output} already exists; pass --force to replace it", SeddException.Usage);

        RequireTokenizer(source);
        // Build (and convert) before touching the disk: a bad precision or graph writes nothing.
        var fp32 = ScoreNetworkGraph.Build(source.Architecture, source.Weights, OnnxMetadata(source));
        var shipped = PrecisionVariant.Convert(fp32, precision);

        var parent = Path.GetDirectoryName(final)!;
        var temp = Path.Combine(parent, $"{Path.GetFileName(final)}.tmp-{Environment.ProcessId}-{Guid.NewGuid().ToString("N")[..8]}");
        try
        {
            Directory.CreateDirectory(parent);
            Directory.CreateDirectory(temp);
            var onnxPath = Path.Combine(temp, "model.onnx");
            OnnxModelFile.Write(shipped, onnxPath);
            faultAfter?.Invoke("model.onnx");
            Safetensors.Write(Path.Combine(temp, "model.safetensors"), ExportedWeights(source),
                new Dictionary<string, string> { ["format"] = "pt", ["weights"] = source.WeightsKind });
            faultAfter?.Invoke("model.safetensors");

            var (verification, line) = Verify(source, onnxPath, precision == "fp32" ? null : fp32, temp, log);
            // An evaluation measures the checkpoint's fp32 network; a quantized graph's bound differs
            // (sedd-compare --bound-data measures it), so only the fp32 package records it.
            if (evaluation != null && precision != "fp32")
            {
                log.WriteLine($"sedd-export: --eval not recorded: it measured the fp32 network, not this {precision} graph");
                evaluation = null;
            }
            var manifest = Manifest(source, precision, evaluation, verification, []);
            AtomicFile.WriteAllText(Path.Combine(temp, "README.md"), ModelCard.Render(manifest, source, line, notes));
            faultAfter?.Invoke("README.md");

            var files = new SortedDictionary<string, string>(StringComparer.Ordinal);
            foreach (var file in Directory.GetFiles(temp, "*", SearchOption.AllDirectories))
                files[Path.GetRelativePath(temp, file).Replace(Path.DirectorySeparatorChar, '/')] = PackagePaths.Sha256(file);
            manifest = manifest with { Files = files };
            AtomicFile.WriteAllText(Path.Combine(temp, ModelPackage.ManifestFile), manifest.ToJson());
            faultAfter?.Invoke(ModelPackage.ManifestFile);

            ModelPackage.Open(temp);   // the runtime's own check, on the complete package, before it gets its name
            MoveIntoPlace(temp, final, force);
            long bytes = Directory.GetFiles(final, "*", SearchOption.AllDirectories).Sum(f => new FileInfo(f).Length);
            return new ExportResult(final, manifest, bytes, clock.Elapsed, line);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            DeleteQuietly(temp);
            throw new SeddException($"cannot write the package {output}: {e.Message}", SeddException.Environment);
        }
        catch
        {
            DeleteQuietly(temp);
            throw;
        }
    }

    /// <summary>The manifest of a package (files filled in by the caller).</summary>
    /// <param name="s">Source.</param>
    /// <param name="precision">Weight precision.</param>
    /// <param name="evaluation">Evaluation, if known.</param>
    /// <param name="verification">Parity-check record.</param>
    /// <param name="files">Checksums by relative path.</param>
    public static ModelManifest Manifest(ExportSource s, string precision, EvaluationInfo? evaluation, VerificationInfo? verification,
        SortedDictionary<string, string> files)
    {
        ArgumentNullException.ThrowIfNull(s);
        var a = s.Architecture;
        return new ModelManifest
        {
            Graph = new GraphInfo { Type = s.GraphType, Tokens = s.Tokens, States = s.States, MaskId = s.GraphType == "absorb" ? s.Tokens : null },
            Noise = s.Noise,
            Length = a.MaxLength,
            Tokenizer = s.Tokenizer,
            Model = new ModelInfo
            {
                HiddenSize = a.HiddenSize, CondDim = a.CondDim, NBlocks = a.Blocks, NHeads = a.Heads,
                Parameters = a.ParameterShapes().Sum(p => p.Shape.Aggregate(1L, (x, d) => x * d)),
                ScaleBySigma = a.ScaleBySigma, TimeIndependent = a.TimeIndependent, Parameterization = a.Parameterization,
            },
            Onnx = new OnnxInfo
            {
                Opset = ScoreNetworkGraph.Opset,
                Precision = precision,
                Inputs =
                [
                    new TensorInfo { Name = ScoreNetworkGraph.IndicesName, Type = "int64", Shape = ["batch", "seq"] },
                    new TensorInfo { Name = ScoreNetworkGraph.SigmaName, Type = "float32", Shape = ["batch"] },
                ],
                Outputs = [new TensorInfo { Name = ScoreNetworkGraph.OutputName, Type = "float32", Shape = ["batch", "seq", s.States.ToString(CultureInfo.InvariantCulture)] }],
            },
            Provenance = new ProvenanceInfo
            {
                Source = s.Kind, Corpus = s.Corpus, Steps = s.Steps, Tokens = s.TrainingTokens, Weights = s.WeightsKind, Evaluation = evaluation,
                ExportedAt = DateTime.UtcNow.ToString("yyyy-MM-ddTHH:mm:ssZ", CultureInfo.InvariantCulture),
                Exporter = typeof(PackageWriter).Assembly.GetName().Version?.ToString(),
            },
            Verification = verification,
            Files = files,
        };
    }

    static (VerificationInfo Info, string Line) Verify(ExportSource source, string onnxPath, ModelProto? fp32, string temp, TextWriter log)
    {
        // A variant is checked against the fp32 graph, which is written to a scratch folder removed before hashing.
        string? scratch = null;
        try
        {
            string fp32Path = onnxPath;
            if (fp32 != null)
            {
                scratch = Path.Combine(temp, ".verify");
                Directory.CreateDirectory(scratch);
                fp32Path = Path.Combine(scratch, "fp32.onnx");
                OnnxModelFile.Write(fp32, fp32Path);
            }
            using var reference = TorchReference.TryCreate(source, out var why);
            if (reference == null) log.WriteLine($"sedd-export: warning: verification skipped: {why}; the manifest records reference \"none\"");
            var info = ExportVerifier.Run(source, fp32Path, fp32 != null ? onnxPath : null, reference, why);
            return (info, ExportVerifier.Describe(info, why));
        }
        finally
        {
            if (scratch != null) DeleteQuietly(scratch);
        }
    }

    /// <summary>
    /// The weights as float32 safetensors under their state_dict names, with the rotary buffer the
    /// reference checkpoints carry (recomputed when the source lacks it).
    /// </summary>
    static Dictionary<string, SafeTensor> ExportedWeights(ExportSource source)
    {
        var a = source.Architecture;
        var result = new Dictionary<string, SafeTensor>(StringComparer.Ordinal);
        foreach (var (name, shape) in a.ParameterShapes())
        {
            var t = source.Weights[name];
            result[name] = t.DType == "F32" ? t : SafeTensor.FromFloats(t.ToFloats(), shape);
        }
        result["rotary_emb.inv_freq"] = source.Weights.TryGetValue("rotary_emb.inv_freq", out var inv) && inv.DType == "F32"
            ? inv : SafeTensor.FromFloats(Array.ConvertAll(a.RotaryInverseFrequencies(), d => (float)d), a.HeadDim / 2);
        return result;
    }

    static Dictionary<string, string> OnnxMetadata(ExportSource s)
    {
        static string D(double v) => v.ToString("R", CultureInfo.InvariantCulture);
        var m = new Dictionary<string, string>(StringComparer.Ordinal)
        {
            ["sedd.graph"] = s.GraphType,
            ["sedd.tokens"] = s.Tokens.ToString(CultureInfo.InvariantCulture),
            ["sedd.noise"] = s.Noise.Type,
            ["sedd.tokenizer"] = s.Tokenizer,
            ["sedd.weights"] = s.WeightsKind,
        };
        if (s.GraphType == "absorb") m["sedd.mask_id"] = s.Tokens.ToString(CultureInfo.InvariantCulture);
        if (s.Noise.SigmaMin is { } lo) m["sedd.noise.sigma_min"] = D(lo);
        if (s.Noise.SigmaMax is { } hi) m["sedd.noise.sigma_max"] = D(hi);
        if (s.Noise.Eps is { } eps) m["sedd.noise.eps"] = D(eps);
        return m;
    }

    // ModelPackage.Open insists that the tokenizer's ids are the graph's tokens; check before writing.
    static void RequireTokenizer(ExportSource s)
    {
        int? ids;
        try { ids = Runtime.Text.TokenizerSpec.Parse(s.Tokenizer).VocabSize; }
        catch (SeddException) { ids = null; }
        if (ids != s.Tokens)
            throw new SeddException($"{s.Location}: a vocabulary of {s.Tokens} tokens matches no tokenizer (gpt2 has 50257 ids, gpt2-N has N + 1 with 256 ≤ N ≤ 50256); " +
                (ids is { } n ? $"{s.Tokenizer} has {n}" : $"'{s.Tokenizer}' is not a tokenizer spec"), SeddException.BadInput);
    }

    static void MoveIntoPlace(string temp, string final, bool force)
    {
        if (!Directory.Exists(final))
        {
            Directory.Move(temp, final);
            return;
        }
        if (!force) throw new SeddException($"{final} appeared during the export; pass --force to replace it", SeddException.Usage);
        var aside = $"{final}.old-{Environment.ProcessId}-{Guid.NewGuid().ToString("N")[..8]}";
        Directory.Move(final, aside);
        try { Directory.Move(temp, final); }
        catch
        {
            Directory.Move(aside, final);   // the old package keeps its name
            throw;
        }
        DeleteQuietly(aside);
    }

    static void DeleteQuietly(string folder)
    {
        try
        {
            if (Directory.Exists(folder)) Directory.Delete(folder, recursive: true);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException) { }
    }
}
