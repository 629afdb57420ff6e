namespace Sedd.Runtime.Onnx;

/// <summary>Where ONNX Runtime runs the score network (<c>--provider</c>).</summary>
public enum ExecutionProvider
{
    /// <summary>The best provider that actually starts: CUDA, then DirectML, then the CPU.</summary>
    Auto,

    /// <summary>ONNX Runtime's CPU provider (every native build has it).</summary>
    Cpu,

    /// <summary>NVIDIA CUDA (Microsoft.ML.OnnxRuntime.Gpu 1.31: CUDA 13 and cuDNN 9).</summary>
    Cuda,

    /// <summary>DirectML on Windows (a build with <c>-p:OrtFlavor=directml</c>).</summary>
    Dml,
}

/// <summary>The provider a session was created with, and why the ones tried before it were passed over.</summary>
/// <param name="Provider">The provider the session runs on (never <see cref="ExecutionProvider.Auto"/>).</param>
/// <param name="Requested">What was asked for.</param>
/// <param name="Rejected">One line per provider that <see cref="ExecutionProvider.Auto"/> tried and could not start.</param>
public sealed record ExecutionProviderChoice(ExecutionProvider Provider, ExecutionProvider Requested, IReadOnlyList<string> Rejected)
{
    /// <summary>One line for the log, e.g. "provider cpu (auto; cuda: … ; dml: …)".</summary>
    public string Describe()
    {
        var name = ExecutionProviders.Name(Provider);
        if (Requested != ExecutionProvider.Auto) return $"provider {name}";
        return Rejected.Count == 0 ? $"provider {name} (auto)" : $"provider {name} (auto; {string.Join("; ", Rejected)})";
    }
}
