using System.Diagnostics;
using System.Globalization;
using System.Runtime.CompilerServices;
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
/// Writes a model package: model.onnx (+ external data), model.safetensors, README.md and
/// manifest.json with the SHA-256 of every other file. Everything is written into a hidden folder
/// beside the destination, verified, reopened with <see cref="ModelPackage.Open"/>, and only then moved
/// to its name by <see cref="PackageReplacement"/>, whose protocol keeps the old package until the new
/// one has its name and lets the next export finish or roll back one that was killed. What
/// <c>--out</c> may replace is decided by <see cref="OutputFolder"/>. Any failure or cancellation before
/// the move deletes the build folder, so no half-written package ever carries the final name, and every
/// long step (converting, writing, verifying, hashing) watches the cancellation token.
/// </summary>
public static class PackageWriter
{
    /// <summary>Parity check, model card and manifest, then the atomic move.</summary>
    /// <param name="source">The checkpoint to export.</param>
    /// <param name="output">Destination folder.</param>
    /// <param name="precision">"fp32", "fp16" or "int8".</param>
    /// <param name="force">Replace an existing destination (only a model package; see <see cref="OutputFolder"/>).</param>
    /// <param name="evaluation">Evaluation to record, if known.</param>
    /// <param name="log">Where progress and the verification warning go.</param>
    /// <param name="faultAfter">Test hook called after each file is written; throwing simulates a disk error.</param>
    /// <param name="notes">Markdown appended to the model card.</param>
    /// <param name="cancel">Stops the export at its next check; nothing is left behind and an old package stays.</param>
    /// <param name="gate">The point of no return shared with a signal handler (null: a private one).</param>
    /// <param name="inputs">Further inputs (path, how messages name it) that <c>--out</c> may not hold or lie in; the source is always one.</param>
    /// <param name="releaseWeights">
    /// Empty the source's weight dictionary once the files are written and the reference network holds its
    /// own copy, so that verification runs without it (0.65 GB at SEDD-small's size). Only for a caller
    /// that does not use the source again.
    /// </param>
    public static ExportResult Write(ExportSource source, string output, string precision, bool force, EvaluationInfo? evaluation,
        TextWriter log, Action<string>? faultAfter = null, string? notes = null, CancellationToken cancel = default, CommitGate? gate = null,
        IReadOnlyList<(string Path, string What)>? inputs = null, bool releaseWeights = false)
    {
        ArgumentNullException.ThrowIfNull(source);
        ArgumentNullException.ThrowIfNull(output);
        ArgumentNullException.ThrowIfNull(log);
        UserFiles.RequirePathArgument(output, "--out");
        if (precision is not ("fp32" or "fp16" or "int8")) throw new SeddException($"--precision must be fp32, fp16 or int8, got '{precision}'", SeddException.Usage);
        var clock = Stopwatch.StartNew();
        var final = Path.GetFullPath(output.TrimEnd('/', Path.DirectorySeparatorChar) is { Length: > 0 } o ? o : output);
        if (Path.GetDirectoryName(final) == null) throw new SeddException($"--out {output} is the root of the file system; give a folder to create", SeddException.Usage);
        var protect = new List<(string, string)> { (source.Location, "source checkpoint") };
        if (inputs != null) protect.AddRange(inputs);
        void Check() => OutputFolder.RequireWritable(final, output, force, protect, cancel);
        Check();   // before any work: a refused --out costs nothing

        RequireTokenizer(source);
        RequireMemory(source, precision);
        // Build (and convert) before touching the disk: a bad precision or graph writes nothing.
        cancel.ThrowIfCancellationRequested();
        var fp32 = ScoreNetworkGraph.Build(source.Architecture, source.Weights, OnnxMetadata(source));
        cancel.ThrowIfCancellationRequested();
        var shipped = PrecisionVariant.Convert(fp32, precision, cancel);

        PackageReplacement? replacement = null;
        using var privateGate = gate == null ? new CommitGate() : null;
        try
        {
            replacement = PackageReplacement.Begin(final, Check, log, cancel);
            var temp = replacement.Build;
            var onnxPath = Path.Combine(temp, "model.onnx");
            OnnxModelFile.Write(shipped, onnxPath, cancel: cancel);
            faultAfter?.Invoke("model.onnx");
            WriteWeights(source, Path.Combine(temp, "model.safetensors"), cancel);
            faultAfter?.Invoke("model.safetensors");

            // A variant is checked against the fp32 graph, written to a scratch folder removed before hashing.
            string? scratch = null;
            if (precision != "fp32")
            {
                scratch = Path.Combine(temp, ".verify");
                Directory.CreateDirectory(scratch);
                OnnxModelFile.Write(fp32, Path.Combine(scratch, "fp32.onnx"), cancel: cancel);
            }
            cancel.ThrowIfCancellationRequested();
            using var reference = TorchReference.TryCreate(source, out var why);
            if (reference == null) log.WriteLine($"sedd-export: warning: verification skipped: {why}; the manifest records reference \"none\"");
            if (releaseWeights)
            {
                // The weights now live in the written files and in the reference network. Emptying the containers
                // (not just dropping references, which this method's frame may keep to its end) frees them.
                if (source.Weights is IDictionary<string, SafeTensor> { IsReadOnly: false } weights) weights.Clear();
                fp32.Graph.Initializer.Clear();
                shipped.Graph.Initializer.Clear();
                GC.Collect();
            }
            var (verification, line) = Verify(source, onnxPath, scratch, reference, why, cancel);
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
                files[Path.GetRelativePath(temp, file).Replace(Path.DirectorySeparatorChar, '/')] = PackagePaths.Sha256(file, cancel);
            manifest = manifest with { Files = files };
            AtomicFile.WriteAllText(Path.Combine(temp, ModelPackage.ManifestFile), manifest.ToJson());
            faultAfter?.Invoke(ModelPackage.ManifestFile);

            ModelPackage.Open(temp, cancel: cancel);   // the runtime's own check, on the complete package, before it gets its name
            replacement.Commit(Check, gate ?? privateGate!, cancel);
            // Committed: the package is in place; nothing below may cancel or undo it.
            long bytes = Directory.GetFiles(final, "*", SearchOption.AllDirectories).Sum(f => new FileInfo(f).Length);
            return new ExportResult(final, manifest, bytes, clock.Elapsed, line);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            replacement?.Dispose();
            throw new SeddException($"cannot write the package {output}: {e.Message}", SeddException.Environment);
        }
        catch
        {
            replacement?.Dispose();
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

    static (VerificationInfo Info, string Line) Verify(ExportSource source, string onnxPath, string? scratch, IReferenceForward? reference, string? why,
        CancellationToken cancel)
    {
        try
        {
            string fp32Path = scratch != null ? Path.Combine(scratch, "fp32.onnx") : onnxPath;
            var info = ExportVerifier.Run(source, fp32Path, scratch != null ? onnxPath : null, reference, why, cancel);
            return (info, ExportVerifier.Describe(info, why));
        }
        finally
        {
            if (scratch != null) DeleteQuietly(scratch);   // before hashing: the package's files are the ones left
        }
    }

    // In a frame of its own, so that the dictionary of exported tensors is unreachable once it returns.
    [MethodImpl(MethodImplOptions.NoInlining)]
    static void WriteWeights(ExportSource source, string path, CancellationToken cancel) =>
        Safetensors.Write(path, ExportedWeights(source), new Dictionary<string, string> { ["format"] = "pt", ["weights"] = source.WeightsKind }, cancel);

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

    /// <summary>
    /// The export holds the weights several times over (source, fp32 graph, variant, ONNX Runtime's copy
    /// for the check, the TorchSharp reference) plus the rotary tables and the check's activations:
    /// refuse at once what this machine cannot hold rather than fail half-way.
    /// </summary>
    static void RequireMemory(ExportSource source, string precision)
    {
        var a = source.Architecture;
        long parameters = a.ParameterShapes().Sum(p => MemoryBudget.Product(p.Shape));
        long weights = MemoryBudget.Product(parameters, 4);
        long rotary = MemoryBudget.Product(a.MaxLength, a.HeadDim, 4, 2);
        int length = Math.Min(a.MaxLength, ExportVerifier.LengthCap);
        long activations = MemoryBudget.Product(3, length, Math.Max(a.Vocab, 4 * a.HiddenSize), 4, 8);
        long need = MemoryBudget.Product(weights, precision == "fp32" ? 4 : 5);
        need = need > long.MaxValue - rotary * 3 - activations ? long.MaxValue : need + rotary * 3 + activations;
        MemoryBudget.Require(need, $"exporting a network of {parameters:N0} parameters ({a.Blocks} blocks × {a.HiddenSize}, {a.MaxLength} positions)",
            "use a machine with more memory (or a smaller --max-length)", SeddException.Environment);
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
