using Sedd.Runtime;
using Sedd.Runtime.IO;
using Sedd.Runtime.Package;
using Sedd.Trainer.Model;
using Sedd.Trainer.Training;
using TorchSharp;
using static TorchSharp.torch;

namespace Sedd.Compare;

/// <summary>
/// The trainer's TorchSharp <see cref="ScoreNetwork"/> rebuilt from a package (manifest dimensions,
/// <c>model.safetensors</c> weights) and run eagerly in eval mode without autograd: the baseline that
/// sedd-compare measures the ONNX graph against.
/// </summary>
sealed class TorchScoreNetwork : IDisposable
{
    const string WeightsFile = "model.safetensors";
    // Recomputed by the network itself; a package may or may not carry it.
    const string RotaryBuffer = "rotary_emb.inv_freq";

    readonly ScoreNetwork network;
    Tensor? indices;
    Tensor? sigma;

    TorchScoreNetwork(ScoreNetwork network) => this.network = network;

    /// <summary>Builds the network of <paramref name="package"/> and loads its safetensors weights.</summary>
    /// <param name="package">An fp32 package (its <c>model.safetensors</c> holds the trainer's parameter names).</param>
    public static TorchScoreNetwork Open(ModelPackage package)
    {
        var m = package.Manifest;
        if (!m.Files.ContainsKey(WeightsFile))
            throw new SeddException($"{package.Folder} has no {WeightsFile}; the TorchSharp baseline needs the package's weights", SeddException.BadInput);
        var config = new ModelConfig
        {
            HiddenSize = m.Model.HiddenSize, CondDim = m.Model.CondDim, NBlocks = m.Model.NBlocks, NHeads = m.Model.NHeads,
            Dropout = 0, Length = m.Length, TimeIndependent = m.Model.TimeIndependent, Parameterization = m.Model.Parameterization,
        };
        var network = new ScoreNetwork(config, m.Graph.States, m.Model.ScaleBySigma);
        try
        {
            var (tensors, _) = Safetensors.Read(package.PathOf(WeightsFile));
            using (NewDisposeScope())
            {
                var weights = tensors.ToDictionary(p => p.Key, p => TensorIO.FromSafe(p.Value), StringComparer.Ordinal);
                if (!weights.ContainsKey(RotaryBuffer)) weights[RotaryBuffer] = network.state_dict()[RotaryBuffer].clone();
                network.LoadWeights(weights, WeightsFile);
            }
            network.eval();
            return new TorchScoreNetwork(network);
        }
        catch
        {
            network.Dispose();
            throw;
        }
    }

    /// <summary>Parameters as the trainer counts them (a check that the package's weights were all loaded).</summary>
    public long Parameters => network.ParameterCount();

    /// <summary>Copies the inputs into tensors kept for the following <see cref="Forward"/> calls.</summary>
    /// <param name="tokens">Row-major [B, L].</param>
    /// <param name="sigmaBar">σ̄ per row, [B].</param>
    public void SetInputs(long[] tokens, float[] sigmaBar)
    {
        indices?.Dispose();
        sigma?.Dispose();
        indices = tensor(tokens, [sigmaBar.Length, tokens.Length / sigmaBar.Length]);
        sigma = tensor(sigmaBar, [sigmaBar.Length]);
    }

    /// <summary>
    /// One eager forward on the stored inputs; the result is dropped (on the CPU, eager ops have finished
    /// when the call returns, so this is the whole cost). Copies it into <paramref name="output"/> if given.
    /// </summary>
    /// <param name="output">Optional destination, [B, L, D] row-major.</param>
    public void Forward(float[]? output = null)
    {
        if (indices is null || sigma is null) throw new InvalidOperationException("SetInputs first");
        using var scope = NewDisposeScope();
        using var noGrad = no_grad();
        var y = network.call(indices, sigma);
        if (output != null) y.contiguous().data<float>().CopyTo(output);
    }

    /// <summary>Best fp32 GFLOP/s of <c>torch.mm</c> on square matrices of side <paramref name="n"/>.</summary>
    /// <param name="n">Matrix side.</param>
    /// <param name="runs">Timed runs after two warm-up runs.</param>
    /// <param name="cancel">Checked before every product.</param>
    public static double MatmulGflops(int n, int runs, CancellationToken cancel = default)
    {
        using var scope = NewDisposeScope();
        using var noGrad = no_grad();
        var generator = new Generator(7);
        var a = randn([n, n], generator: generator);
        var b = randn([n, n], generator: generator);
        for (int i = 0; i < 2; i++) mm(a, b).Dispose();
        double best = double.MaxValue;
        for (int i = 0; i < runs; i++)
        {
            cancel.ThrowIfCancellationRequested();
            long start = System.Diagnostics.Stopwatch.GetTimestamp();
            using var c = mm(a, b);
            best = Math.Min(best, System.Diagnostics.Stopwatch.GetElapsedTime(start).TotalSeconds);
        }
        return 2.0 * n * n * n / best / 1e9;
    }

    /// <summary>libtorch's intra-op threads.</summary>
    public static int Threads
    {
        get => get_num_threads();
        set => set_num_threads(value);
    }

    /// <inheritdoc/>
    public void Dispose()
    {
        indices?.Dispose();
        sigma?.Dispose();
        network.Dispose();
    }
}
