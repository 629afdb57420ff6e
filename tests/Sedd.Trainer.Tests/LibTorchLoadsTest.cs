using static TorchSharp.torch;

namespace Sedd.Trainer.Tests;

/// <summary>libtorch must load on every machine we test on (build/TorchSharp.targets patches it where needed).</summary>
public class LibTorchLoadsTest
{
    [Fact]
    public void LibTorchLoadsTest_MatmulRuns()
    {
        using var a = ones(3, 4);
        using var b = ones(4, 2);
        using var c = a.matmul(b);
        Assert.Equal(4f, c[2, 1].item<float>());
    }
}
