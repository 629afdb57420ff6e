using Microsoft.ML.OnnxRuntime;
using Sedd.Runtime;

namespace Sedd.Exporter;

/// <summary>
/// Runs an exported score network with ONNX Runtime on the CPU (all graph optimisations on), to
/// check a file right after export. Not the sampling runtime: it allocates per call.
/// </summary>
public sealed class ScoreNetworkSession : IDisposable
{
    readonly InferenceSession session;

    /// <summary>Opens a model held in memory (no external data).</summary>
    /// <param name="model">Serialized ModelProto.</param>
    /// <param name="threads">Intra-op threads (1 keeps checks light).</param>
    public ScoreNetworkSession(byte[] model, int threads = 1) => session = Open(so => new InferenceSession(model, so), threads);

    /// <summary>Opens a model file (external data is resolved beside it).</summary>
    /// <param name="path">.onnx file.</param>
    /// <param name="threads">Intra-op threads.</param>
    public ScoreNetworkSession(string path, int threads = 1) => session = Open(so => new InferenceSession(path, so), threads);

    /// <summary>Vocabulary from the file's <c>sedd.vocab</c> metadata.</summary>
    public int Vocab => MetadataInt("sedd.vocab");

    /// <summary>Longest sequence the file accepts (<c>sedd.max_length</c> metadata: the rotary tables end there).</summary>
    public int MaxLength => MetadataInt("sedd.max_length");

    /// <summary>
    /// log_score for one batch: <paramref name="indices"/> row-major [batch, length], <paramref name="sigma"/>
    /// [batch] → row-major [batch, length, vocab] and its shape as ORT reports it.
    /// </summary>
    /// <param name="indices">Token ids, row-major [batch, length].</param>
    /// <param name="sigma">Total noise σ̄ per row.</param>
    /// <param name="length">Sequence length L.</param>
    /// <param name="cancel">Terminates a run in progress (ONNX Runtime's RunOptions.Terminate).</param>
    public (float[] LogScore, long[] Shape) Run(long[] indices, float[] sigma, int length, CancellationToken cancel = default)
    {
        ArgumentNullException.ThrowIfNull(indices);
        ArgumentNullException.ThrowIfNull(sigma);
        if (indices.Length != sigma.Length * length)
            throw new SeddException($"indices hold {indices.Length} ids, expected batch {sigma.Length} × length {length}", SeddException.Usage);
        if (length < 1 || length > MaxLength)
            throw new SeddException($"sequence length {length} is outside 1..{MaxLength}, the range this model was exported for", SeddException.Usage);
        using var x = OrtValue.CreateTensorValueFromMemory(indices, [sigma.Length, length]);
        using var s = OrtValue.CreateTensorValueFromMemory(sigma, [sigma.Length]);
        using var options = new RunOptions();
        cancel.ThrowIfCancellationRequested();
        using var stop = cancel.Register(() => options.Terminate = true);
        IDisposableReadOnlyCollection<OrtValue> outputs;
        try { outputs = session.Run(options, [ScoreNetworkGraph.IndicesName, ScoreNetworkGraph.SigmaName], [x, s], [ScoreNetworkGraph.OutputName]); }
        catch (OnnxRuntimeException) when (cancel.IsCancellationRequested) { throw new OperationCanceledException(cancel); }
        using var results = outputs;
        var y = results.First();
        return (y.GetTensorDataAsSpan<float>().ToArray(), y.GetTensorTypeAndShape().Shape);
    }

    int MetadataInt(string key) =>
        session.ModelMetadata.CustomMetadataMap.TryGetValue(key, out var v) && int.TryParse(v, System.Globalization.CultureInfo.InvariantCulture, out var n)
            ? n : throw new SeddException($"the model has no integer metadata {key}; was it written by sedd-export?", SeddException.BadInput);

    /// <inheritdoc />
    public void Dispose() => session.Dispose();

    static InferenceSession Open(Func<SessionOptions, InferenceSession> create, int threads)
    {
        using var so = new SessionOptions
        {
            GraphOptimizationLevel = GraphOptimizationLevel.ORT_ENABLE_ALL,
            ExecutionMode = ExecutionMode.ORT_SEQUENTIAL,
            IntraOpNumThreads = threads,
            InterOpNumThreads = 1,
            // Verification runs a few dozen shapes once each: an arena or a memory pattern per shape would keep
            // every shape's buffers (hundreds of MB at a 50k vocabulary) to the end of the export.
            EnableCpuMemArena = false,
            EnableMemoryPattern = false,
        };
        so.AddSessionConfigEntry("session.intra_op.allow_spinning", "0");
        try { return create(so); }
        catch (OnnxRuntimeException e) { throw new SeddException($"ONNX Runtime cannot load the exported model: {e.Message}", SeddException.BadInput); }
    }
}
