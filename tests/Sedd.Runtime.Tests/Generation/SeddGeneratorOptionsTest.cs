using Sedd.Runtime.Generation;
using Sedd.Runtime.Onnx;
using Sedd.Runtime.Tests.Onnx;

namespace Sedd.Runtime.Tests.Generation;

/// <summary>GeneratorOptions.SamplerThreads: the sampler's own threads, apart from ONNX Runtime's.</summary>
public sealed class SeddGeneratorOptionsTest
{
    [Fact]
    public void SeddGeneratorOptionsTest_OneSamplerThreadGivesTheSameSamples()
    {
        using var package = TinyPackage.Create(length: 32, timeIndependent: true);
        // 8 × 32 masked rows of 258 states: enough work per step that two sampler threads split it.
        var request = new GenerationRequest { Prompt = "q", Steps = 6, Count = 8, Seed = 3, KeepEos = true };
        using var two = SeddGenerator.Open(package.Folder, new GeneratorOptions { Provider = ExecutionProvider.Cpu, Threads = 2 });
        using var one = SeddGenerator.Open(package.Folder, new GeneratorOptions { Provider = ExecutionProvider.Cpu, Threads = 2, SamplerThreads = 1 });
        Assert.Equal(two.Generate(request).Samples.Select(s => s.Text), one.Generate(request).Samples.Select(s => s.Text));
    }

    [Fact]
    public void SeddGeneratorOptionsTest_SamplerThreadsAreChecked()
    {
        using var package = TinyPackage.Create(length: 16, timeIndependent: true);
        var e = Assert.Throws<SeddException>(() => SeddGenerator.Open(package.Folder, new GeneratorOptions { Provider = ExecutionProvider.Cpu, SamplerThreads = -3 }));
        Assert.Equal(SeddException.Usage, e.ExitCode);
        Assert.Contains("sampler threads", e.Message, StringComparison.Ordinal);
    }
}
