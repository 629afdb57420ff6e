using System.Runtime.CompilerServices;
using Sedd.Exporter.Sources;
using Sedd.Runtime;
using Sedd.Trainer.Model;
using Sedd.Trainer.Training;
using TorchSharp;
using static TorchSharp.torch;

namespace Sedd.Exporter.Verification;

/// <summary>
/// The trainer's TorchSharp <see cref="ScoreNetwork"/> loaded with the exported weights: the reference
/// of the parity check. libtorch is touched only here, and only when <see cref="TryCreate"/> is called,
/// so an export on a machine without a working libtorch still succeeds (with verification skipped).
/// </summary>
public sealed class TorchReference : IReferenceForward
{
    /// <summary>Set to 1 to skip libtorch (and so the TorchSharp reference) entirely.</summary>
    public const string DisableVariable = "SEDD_EXPORT_NO_TORCH";

    const string Buffer = "rotary_emb.inv_freq";

    readonly ScoreNetwork network;

    TorchReference(ScoreNetwork network) => this.network = network;

    /// <inheritdoc />
    public string Name => "torchsharp";

    /// <summary>
    /// The reference network, or null with the reason when libtorch is disabled or cannot start.
    /// A network the trainer cannot represent (another MLP or frequency width) is a bad input.
    /// </summary>
    /// <param name="source">The exported checkpoint.</param>
    /// <param name="why">Why no reference is available.</param>
    public static TorchReference? TryCreate(ExportSource source, out string? why)
    {
        ArgumentNullException.ThrowIfNull(source);
        why = null;
        if (System.Environment.GetEnvironmentVariable(DisableVariable) == "1")
        {
            why = $"{DisableVariable}=1 disables the TorchSharp reference";
            return null;
        }
        try { return Create(source); }
        catch (Exception e) when (e is TypeInitializationException or DllNotFoundException or BadImageFormatException or EntryPointNotFoundException
            or FileNotFoundException or NotSupportedException or InvalidOperationException)
        {
            var inner = e is TypeInitializationException && e.InnerException != null ? e.InnerException : e;
            why = $"libtorch cannot start here ({inner.GetType().Name}: {inner.Message.Split('\n')[0]})";
            return null;
        }
    }

    // Kept out of TryCreate so that the JIT resolves TorchSharp only when this runs, inside the try.
    [MethodImpl(MethodImplOptions.NoInlining)]
    static TorchReference Create(ExportSource source)
    {
        var a = source.Architecture;
        if (a.FrequencyEmbeddingSize != 256 || a.MlpHidden != 4 * a.HiddenSize || a.RotaryBase != 10000)
            throw new SeddException($"{source.Location}: the trainer's network has σ features 256, MLP 4H and rotary base 10000; this one has {a.FrequencyEmbeddingSize}, {a.MlpHidden} and {a.RotaryBase}", SeddException.BadInput);
        var config = new ModelConfig
        {
            HiddenSize = a.HiddenSize, CondDim = a.CondDim, NBlocks = a.Blocks, NHeads = a.Heads,
            Dropout = 0, Length = Math.Max(a.MaxLength, source.TrainedLength), TimeIndependent = a.TimeIndependent,
            Parameterization = a.Parameterization,
        };
        var network = new ScoreNetwork(config, a.Vocab, a.ScaleBySigma);
        try
        {
            // One tensor at a time, each freed once copied: at SEDD-small's size a second full copy of the
            // weights would be 680 MB more at the export's peak. The rotary buffer is recomputed by both
            // sides; a checkpoint without it keeps the network's own.
            var names = new HashSet<string>(source.Weights.Keys, StringComparer.Ordinal) { Buffer };
            network.LoadWeights(names, name => source.Weights.TryGetValue(name, out var w) ? NativeCopy(w)
                : name == Buffer ? network.state_dict()[Buffer].clone() : null, true, source.Location);
            network.eval();
            // The managed staging arrays of the conversion are garbage now; return them before verification allocates.
            GC.Collect();
            return new TorchReference(network);
        }
        catch
        {
            network.Dispose();
            throw;
        }
    }

    // A float32 tensor is copied straight into native memory (no managed staging array); others convert.
    static Tensor NativeCopy(Sedd.Runtime.IO.SafeTensor w)
    {
        if (w.DType != "F32") return TensorIO.FromSafe(w);
        var t = empty(w.Shape, ScalarType.Float32);
        w.Data.AsSpan().CopyTo(t.bytes);
        return t;
    }

    /// <inheritdoc />
    public float[] Forward(long[] indices, float[] sigma, int length)
    {
        ArgumentNullException.ThrowIfNull(indices);
        ArgumentNullException.ThrowIfNull(sigma);
        // Row by row (rows are independent): libtorch's temporaries stay those of one sequence, which at a
        // 50k vocabulary are what decides an export's peak memory.
        int batch = sigma.Length;
        float[]? result = null;
        for (int b = 0; b < batch; b++)
        {
            using var scope = NewDisposeScope();
            using var noGrad = no_grad();
            var x = tensor(indices.AsSpan(b * length, length).ToArray(), [1, length]);
            var s = tensor(new[] { sigma[b] }, [1]);
            var y = network.call(x, s).contiguous();
            var row = y.data<float>();
            result ??= new float[batch * row.Count];
            row.CopyTo(result, b * (int)row.Count);
        }
        return result ?? [];
    }

    /// <inheritdoc />
    public void Dispose() => network.Dispose();
}
