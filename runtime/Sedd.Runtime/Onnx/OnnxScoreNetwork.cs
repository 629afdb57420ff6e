using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using Microsoft.ML.OnnxRuntime;
using Sedd.Runtime.Package;
using Sedd.Runtime.Sampling;

namespace Sedd.Runtime.Onnx;

/// <summary>Settings of an <see cref="OnnxScoreNetwork"/> session.</summary>
public sealed record OnnxScoreNetworkOptions
{
    /// <summary>Execution provider (default <see cref="ExecutionProvider.Auto"/>).</summary>
    public ExecutionProvider Provider { get; init; } = ExecutionProvider.Auto;

    /// <summary>Intra-op threads; 0 lets ONNX Runtime choose (one per physical core). Default 0.</summary>
    public int Threads { get; init; }
}

/// <summary>
/// The exported score network (package <c>model.onnx</c>) under ONNX Runtime. Inputs <c>indices</c>
/// int64 [B, L] and <c>sigma</c> float32 [B]; output <c>log_score</c> float32 [B, L, D], already
/// post-processed (spec §5.7), so it is exactly what the samplers consume.
/// </summary>
/// <remarks>
/// Bound to a <see cref="DiffusionSampler"/> (<see cref="IBindableScoreFunction"/>), it wraps the
/// sampler's own arrays in <see cref="OrtValue"/>s once (pinned, no copy) and runs through an
/// <see cref="OrtIoBinding"/>: ORT reads the tokens and σ̄ in place and writes the log-score straight
/// into the sampler's buffer, and a call allocates no managed memory. Unbound calls copy through
/// temporary tensors. Not thread-safe: one run at a time.
/// </remarks>
public sealed partial class OnnxScoreNetwork : IBindableScoreFunction, IScoreFunctionTraits, IDisposable
{
    readonly InferenceSession session;
    readonly RunOptions runOptions = new();
    readonly string inputIndices;
    readonly string inputSigma;
    readonly string output;
    // Batches up to this size get every range's binding when bound (at most 136 for 16).
    const int EagerRangeBatch = 16;
    BoundBuffers? main;
    BoundBuffers? staging;

    // Sequences [first, first + count) of bound buffers as ONNX tensors over the same memory.
    sealed class Range(OrtIoBinding binding, OrtValue[] values)
    {
        public OrtIoBinding Binding { get; } = binding;

        public void Dispose()
        {
            Binding.Dispose();
            foreach (var v in values) v.Dispose();
        }
    }

    // One set of caller arrays the session reads and writes in place, with the bindings of its ranges.
    sealed class BoundBuffers(long[] tokens, float[] sigma, float[] score, int batch, int length)
    {
        public long[] Tokens { get; } = tokens;
        public float[] Sigma { get; } = sigma;
        public float[] Score { get; } = score;
        public int Batch { get; } = batch;
        public int Length { get; } = length;
        public Dictionary<long, Range> Ranges { get; } = [];

        public void Dispose()
        {
            foreach (var r in Ranges.Values) r.Dispose();
            Ranges.Clear();
        }
    }

    OnnxScoreNetwork(InferenceSession session, ModelManifest manifest, string what, ExecutionProviderChoice choice)
    {
        this.session = session;
        Provider = choice;
        States = manifest.Graph.States;
        MaxLength = manifest.Length;
        TimeIndependent = manifest.Model.TimeIndependent;
        ScaleBySigma = manifest.Model.ScaleBySigma;
        (inputIndices, inputSigma, output) = CheckContract(session, manifest, what);
    }

    /// <summary>Opens a verified package's ONNX graph and checks it against the manifest.</summary>
    /// <param name="package">Package from <see cref="ModelPackage.Open"/>.</param>
    /// <param name="options">Provider and threads.</param>
    /// <exception cref="SeddException">The provider cannot start (exit 3), or the graph disagrees with the manifest (exit 2).</exception>
    public static OnnxScoreNetwork Open(ModelPackage package, OnnxScoreNetworkOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(package);
        return Open(package.OnnxPath, package.Manifest, options);
    }

    /// <summary>Opens an ONNX file that <paramref name="manifest"/> describes (for hosts that keep the two apart).</summary>
    /// <param name="onnxPath">The .onnx file.</param>
    /// <param name="manifest">Its manifest.</param>
    /// <param name="options">Provider and threads.</param>
    public static OnnxScoreNetwork Open(string onnxPath, ModelManifest manifest, OnnxScoreNetworkOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(onnxPath);
        ArgumentNullException.ThrowIfNull(manifest);
        options ??= new OnnxScoreNetworkOptions();
        IO.UserFiles.RequireRegularFile(onnxPath, "ONNX model");
        var session = ExecutionProviders.CreateSession(onnxPath, options.Provider, options.Threads, out var choice);
        try
        {
            return new OnnxScoreNetwork(session, manifest, Path.GetFileName(onnxPath), choice);
        }
        catch
        {
            session.Dispose();
            throw;
        }
    }

    /// <summary>The provider the session runs on and what auto passed over.</summary>
    public ExecutionProviderChoice Provider { get; }

    /// <summary>D, the width of a log-score row.</summary>
    public int States { get; }

    /// <summary>Longest sequence the graph accepts (manifest length).</summary>
    public int MaxLength { get; }

    /// <inheritdoc/>
    public bool TimeIndependent { get; }

    /// <inheritdoc/>
    public bool ScaleBySigma { get; }

    /// <inheritdoc/>
    public void Bind(long[] tokens, float[] sigma, float[] logScore, int batch, int length)
    {
        var set = NewBuffers(tokens, sigma, logScore, batch, length);
        ReleaseBinding();
        main = set;
        // Every range of a small batch is prepared now, so that no step ever allocates; larger batches
        // prepare a range the first time a step needs it.
        if (batch <= EagerRangeBatch)
            for (int first = 0; first < batch; first++)
                for (int count = 1; first + count <= batch; count++) GetRange(set, first, count);
    }

    /// <inheritdoc/>
    public void BindStaging(long[] tokens, float[] sigma, float[] logScore, int batch, int length)
    {
        if (main is null) throw new InvalidOperationException("bind the main buffers before the staging buffers");
        var set = NewBuffers(tokens, sigma, logScore, batch, length);
        staging?.Dispose();
        staging = set;
        // Staging is always used from its start: one binding per count.
        for (int count = 1; count <= batch; count++) GetRange(set, 0, count);
    }

    /// <inheritdoc/>
    public bool IsBoundTo(long[] tokens) => main is not null && ReferenceEquals(main.Tokens, tokens);

    BoundBuffers NewBuffers(long[] tokens, float[] sigma, float[] logScore, int batch, int length)
    {
        ArgumentNullException.ThrowIfNull(tokens);
        ArgumentNullException.ThrowIfNull(sigma);
        ArgumentNullException.ThrowIfNull(logScore);
        CheckShape(tokens.Length, sigma.Length, logScore.Length, batch, length);
        return new BoundBuffers(tokens, sigma, logScore, batch, length);
    }

    /// <inheritdoc/>
    public void Score(ReadOnlySpan<long> tokens, ReadOnlySpan<float> sigma, Span<float> logScore)
    {
        int first, count;
        var set = TryBoundRange(main, tokens, sigma, logScore, out first, out count)
            ?? TryBoundRange(staging, tokens, sigma, logScore, out first, out count);
        if (set is not null)
        {
            // Bound CPU inputs are read in place at run time, so the sampler's latest tokens are seen.
            var range = GetRange(set, first, count);
            try { session.RunWithBinding(runOptions, range.Binding); }
            catch (OnnxRuntimeException e) { throw RunFailure(e); }
            return;
        }
        if (sigma.IsEmpty || tokens.Length % sigma.Length != 0)
            throw new ArgumentException($"tokens ({tokens.Length}) must hold a whole number of sequences for {sigma.Length} σ values");
        int batch = sigma.Length, length = tokens.Length / batch;
        CheckShape(tokens.Length, sigma.Length, logScore.Length, batch, length);
        var t = tokens.ToArray();
        var s = sigma.ToArray();
        var y = new float[logScore.Length];
        using (var tv = OrtValue.CreateTensorValueFromMemory(t, [batch, length]))
        using (var sv = OrtValue.CreateTensorValueFromMemory(s, [batch]))
        using (var yv = OrtValue.CreateTensorValueFromMemory(y, [batch, length, States]))
            Run([inputIndices, inputSigma], [tv, sv], [output], [yv]);
        y.CopyTo(logScore);
    }

    /// <inheritdoc/>
    public void Dispose()
    {
        ReleaseBinding();
        runOptions.Dispose();
        session.Dispose();
    }

    Range GetRange(BoundBuffers set, int first, int count)
    {
        long key = (long)first * set.Batch + count - 1;
        if (set.Ranges.TryGetValue(key, out var existing)) return existing;
        int l = set.Length, d = States;
        var info = OrtMemoryInfo.DefaultInstance;
        OrtValue[] values =
        [
            OrtValue.CreateTensorValueFromMemory(info, new Memory<long>(set.Tokens, first * l, count * l), [count, l]),
            OrtValue.CreateTensorValueFromMemory(info, new Memory<float>(set.Sigma, first, count), [count]),
            OrtValue.CreateTensorValueFromMemory(info, new Memory<float>(set.Score, first * l * d, count * l * d), [count, l, d]),
        ];
        var binding = session.CreateIoBinding();
        binding.BindInput(inputIndices, values[0]);
        binding.BindInput(inputSigma, values[1]);
        binding.BindOutput(output, values[2]);
        var range = new Range(binding, values);
        set.Ranges.Add(key, range);
        return range;
    }

    // The bound set of which the three spans are the same range of whole sequences, or null.
    BoundBuffers? TryBoundRange(BoundBuffers? set, ReadOnlySpan<long> tokens, ReadOnlySpan<float> sigma, ReadOnlySpan<float> logScore, out int first, out int count)
    {
        first = count = 0;
        if (set is null || tokens.IsEmpty) return null;
        long t = OffsetIn(tokens, set.Tokens), s = OffsetIn(sigma, set.Sigma), y = OffsetIn(logScore, set.Score);
        int l = set.Length;
        if (t < 0 || s < 0 || y < 0 || t % l != 0 || tokens.Length % l != 0) return null;
        first = (int)(t / l);
        count = tokens.Length / l;
        return s == first && sigma.Length == count && y == (long)first * l * States && logScore.Length == (long)count * l * States ? set : null;
    }

    // Element offset of the span inside the array, or −1 when it does not lie inside it.
    static long OffsetIn<T>(ReadOnlySpan<T> span, T[] array)
    {
        if (array.Length == 0 || span.Length > array.Length) return -1;
        long bytes = (long)Unsafe.ByteOffset(ref array[0], ref MemoryMarshal.GetReference(span));
        int size = Unsafe.SizeOf<T>();
        if (bytes < 0 || bytes % size != 0) return -1;
        long offset = bytes / size;
        return offset + span.Length <= array.Length ? offset : -1;
    }

    void Run(string[] inputNames, OrtValue[] inputs, string[] outputNames, OrtValue[] outputs)
    {
        try { session.Run(runOptions, inputNames, inputs, outputNames, outputs); }
        catch (OnnxRuntimeException e) { throw RunFailure(e); }
    }

    static SeddException RunFailure(OnnxRuntimeException e) =>
        new($"the score network failed to run: {e.Message.Split('\n', 2)[0]}", SeddException.BadInput);

    void CheckShape(int tokens, int sigma, int logScore, int batch, int length)
    {
        if (batch < 1 || length < 1 || tokens != batch * length || sigma != batch || logScore != (long)batch * length * States)
            throw new ArgumentException($"buffers do not match batch {batch} × length {length} × {States} states (tokens {tokens}, sigma {sigma}, log-score {logScore})");
        if (length > MaxLength)
            throw new SeddException($"length {length} exceeds the model's {MaxLength} positions", SeddException.Usage);
    }

    void ReleaseBinding()
    {
        main?.Dispose();
        staging?.Dispose();
        main = staging = null;
    }
}
