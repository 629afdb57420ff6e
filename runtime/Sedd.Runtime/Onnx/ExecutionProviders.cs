using Microsoft.ML.OnnxRuntime;

namespace Sedd.Runtime.Onnx;

/// <summary>
/// Creates ONNX Runtime sessions on a chosen execution provider. Availability is proven by creating
/// the session, never by <c>OrtEnv.GetAvailableProviders()</c> (that lists what was compiled in, not
/// what can load: platform-notes §0.11). <see cref="ExecutionProvider.Auto"/> tries CUDA, DirectML and
/// the CPU in that order, each on fresh <see cref="SessionOptions"/> (an appended provider cannot be
/// removed), and reports which one it took and why the others failed. An explicit provider that cannot
/// start is a <see cref="SeddException"/> with exit code 3 naming what is missing.
/// </summary>
public static class ExecutionProviders
{
    /// <summary>What the CUDA provider of ORT-Gpu 1.31 needs (platform-notes §0.4).</summary>
    public const string CudaRequirement = "CUDA 13 and cuDNN 9 libraries (libcudart.so.13 / libcudnn.so.9; on Windows cudart64_13.dll / cudnn64_9.dll)";

    /// <summary>Why DirectML is missing from CPU and CUDA builds.</summary>
    public const string DmlMissing = "this build has no DirectML execution provider (build with -p:OrtFlavor=directml on Windows)";

    static readonly ExecutionProvider[] AutoOrder = [ExecutionProvider.Cuda, ExecutionProvider.Dml, ExecutionProvider.Cpu];
    static readonly Lock EnvLock = new();
    static bool envReady;

    /// <summary>Parses cpu, cuda, dml (or directml) and auto, case-insensitively.</summary>
    /// <param name="text">Option value.</param>
    public static ExecutionProvider Parse(string? text) => (text ?? "").Trim().ToLowerInvariant() switch
    {
        "auto" => ExecutionProvider.Auto,
        "cpu" => ExecutionProvider.Cpu,
        "cuda" => ExecutionProvider.Cuda,
        "dml" or "directml" => ExecutionProvider.Dml,
        _ => throw new SeddException($"unknown provider '{TerminalText.Neutralise(text, keepNewlines: false)}' (expected cpu, cuda, dml or auto)", SeddException.Usage) { Param = "provider" },
    };

    /// <summary>Whether this build's ONNX Runtime has a GPU provider compiled in (CUDA or DirectML); it may still fail to start.</summary>
    public static bool GpuCompiledIn
    {
        get
        {
            EnsureQuietEnvironment();
            var available = OrtEnv.Instance().GetAvailableProviders();
            return available.Contains("CUDAExecutionProvider") || available.Contains("DmlExecutionProvider");
        }
    }

    static bool CompiledIn(ExecutionProvider provider)
    {
        var available = OrtEnv.Instance().GetAvailableProviders();
        return provider switch
        {
            ExecutionProvider.Cuda => available.Contains("CUDAExecutionProvider"),
            ExecutionProvider.Dml => available.Contains("DmlExecutionProvider"),
            _ => true,
        };
    }

    /// <summary>The option spelling of a provider.</summary>
    /// <param name="provider">Provider.</param>
    public static string Name(ExecutionProvider provider) => provider switch
    {
        ExecutionProvider.Cpu => "cpu",
        ExecutionProvider.Cuda => "cuda",
        ExecutionProvider.Dml => "dml",
        _ => "auto",
    };

    /// <summary>
    /// Opens <paramref name="modelPath"/> on <paramref name="requested"/> with every graph optimisation on
    /// and sequential execution.
    /// </summary>
    /// <param name="modelPath">The .onnx file (external data resolves beside it).</param>
    /// <param name="requested">Provider, or <see cref="ExecutionProvider.Auto"/>.</param>
    /// <param name="threads">Intra-op threads; 0 lets ONNX Runtime choose (one per physical core).</param>
    /// <param name="choice">The provider the session runs on and what auto passed over.</param>
    public static InferenceSession CreateSession(string modelPath, ExecutionProvider requested, int threads, out ExecutionProviderChoice choice)
    {
        ArgumentNullException.ThrowIfNull(modelPath);
        // Capped at a few per core: ONNX Runtime would create every thread asked for (100,000 of them took 8 GB).
        ThreadCount.Check(threads, "--threads");
        EnsureQuietEnvironment();
        if (requested != ExecutionProvider.Auto)
        {
            var (session, failure) = TryCreate(modelPath, requested, threads);
            if (session == null) throw failure!;
            choice = new ExecutionProviderChoice(requested, requested, []);
            return session;
        }
        var rejected = new List<string>();
        foreach (var provider in AutoOrder)
        {
            // A provider this build does not have is not a failure worth reporting.
            if (!CompiledIn(provider)) continue;
            var (session, failure) = TryCreate(modelPath, provider, threads);
            if (session != null)
            {
                choice = new ExecutionProviderChoice(provider, requested, rejected);
                return session;
            }
            // The CPU provider failing means the model itself does not load: that is the user's message.
            if (provider == ExecutionProvider.Cpu) throw failure!;
            rejected.Add($"{Name(provider)}: {failure!.Message}");
        }
        throw new InvalidOperationException("unreachable: the CPU provider ends the auto order");
    }

    static (InferenceSession? Session, SeddException? Failure) TryCreate(string modelPath, ExecutionProvider provider, int threads)
    {
        var options = new SessionOptions();
        try
        {
            options.GraphOptimizationLevel = GraphOptimizationLevel.ORT_ENABLE_ALL;
            options.ExecutionMode = ExecutionMode.ORT_SEQUENTIAL;
            options.LogSeverityLevel = OrtLoggingLevel.ORT_LOGGING_LEVEL_FATAL;
            if (threads > 0) options.IntraOpNumThreads = threads;
            // The host samples between runs; spinning pool threads would steal its cores (platform-notes §2).
            options.AddSessionConfigEntry("session.intra_op.allow_spinning", "0");
            switch (provider)
            {
                case ExecutionProvider.Cuda:
                    options.AppendExecutionProvider_CUDA(0);
                    break;
                case ExecutionProvider.Dml:
                    // DirectML refuses memory patterns and parallel execution (DirectML-ExecutionProvider.md).
                    options.EnableMemoryPattern = false;
                    options.ExecutionMode = ExecutionMode.ORT_SEQUENTIAL;
                    options.AppendExecutionProvider_DML(0);
                    break;
            }
            return (new InferenceSession(modelPath, options), null);
        }
        catch (Exception e) when (e is OnnxRuntimeException or EntryPointNotFoundException or DllNotFoundException)
        {
            return (null, Explain(provider, modelPath, e));
        }
        finally
        {
            options.Dispose();
        }
    }

    static SeddException Explain(ExecutionProvider provider, string modelPath, Exception e)
    {
        var detail = FirstLine(e.Message);
        return provider switch
        {
            ExecutionProvider.Cuda when e is EntryPointNotFoundException || detail.Contains("not enabled in this build", StringComparison.Ordinal) =>
                new SeddException($"the CUDA execution provider is not in this build (build with -p:OrtFlavor=gpu); with it, CUDA needs the {CudaRequirement}", SeddException.Environment),
            ExecutionProvider.Cuda =>
                new SeddException($"the CUDA execution provider cannot start: it needs the {CudaRequirement} and a driver for CUDA 13 (ONNX Runtime: {detail})", SeddException.Environment),
            ExecutionProvider.Dml when e is EntryPointNotFoundException || detail.Contains("not supported in this build", StringComparison.Ordinal) =>
                new SeddException(DmlMissing, SeddException.Environment),
            ExecutionProvider.Dml =>
                new SeddException($"the DirectML execution provider cannot start (ONNX Runtime: {detail})", SeddException.Environment),
            _ when e is DllNotFoundException =>
                new SeddException($"the ONNX Runtime native library is missing (reference Microsoft.ML.OnnxRuntime or .Gpu in the application): {detail}", SeddException.Environment),
            _ => new SeddException($"ONNX Runtime cannot load {modelPath}: {detail}", SeddException.BadInput),
        };
    }

    static string FirstLine(string message)
    {
        var line = message.Split('\n', 2)[0].Trim();
        return line.Length > 300 ? line[..300] + "…" : line;
    }

    // ORT logs a failed provider load to stderr at ERROR level; the caller reports it as one line instead.
    static void EnsureQuietEnvironment()
    {
        lock (EnvLock)
        {
            if (envReady) return;
            try
            {
                var options = new EnvironmentCreationOptions { logLevel = OrtLoggingLevel.ORT_LOGGING_LEVEL_FATAL, logId = "sedd" };
                OrtEnv.CreateInstanceWithOptions(ref options);
            }
            catch (OnnxRuntimeException)
            {
                // An environment already exists (the host created one first): keep its logging.
            }
            catch (DllNotFoundException e)
            {
                throw new SeddException($"the ONNX Runtime native library is missing (reference Microsoft.ML.OnnxRuntime or .Gpu in the application): {FirstLine(e.Message)}", SeddException.Environment);
            }
            envReady = true;
        }
    }
}
