using Sedd.Runtime;
using TorchSharp;
using static TorchSharp.torch;

namespace Sedd.Trainer.Training;

/// <summary>Chooses the training device: CUDA when available (and asked for or "auto"), else the CPU.</summary>
public static class Devices
{
    /// <summary>Resolves "auto", "cpu" or "cuda".</summary>
    /// <param name="name">Device name from the config.</param>
    public static Device Resolve(string name)
    {
        bool cuda = cuda_is_available();
        return name switch
        {
            "cpu" => CPU,
            "cuda" when cuda => CUDA,
            "cuda" => throw new SeddException("training.device=cuda, but CUDA is not available (build with -p:TorchFlavor=cuda on a machine with an NVIDIA driver)", SeddException.Environment),
            _ => cuda ? CUDA : CPU,
        };
    }
}
