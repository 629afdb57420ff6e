using Sedd.Runtime.Generation;
using Sedd.Runtime.Onnx;
using Sedd.Runtime.Tests.Onnx;

namespace Sedd.Runtime.Tests.Generation;

/// <summary>Cancelling requests of a batch (a server client that disconnects): their rows freeze, the others go on unchanged, and a window nobody wants any more ends at once.</summary>
public sealed class SeddGeneratorCancellationTest
{
    /// <summary>Counts steps and cancels a request after a few of them.</summary>
    sealed class CancelAfter(int steps, CancellationTokenSource cancel) : IGenerationObserver
    {
        public int Steps { get; private set; }

        public void OnStep(GenerationSnapshot snapshot)
        {
            if (++Steps == steps) cancel.Cancel();
        }
    }

    [Fact]
    public void SeddGeneratorCancellationTest_AWindowWhoseRequestsAreAllCancelledEndsAtOnce()
    {
        using var package = TinyPackage.Create(length: 16, timeIndependent: true);
        using var generator = SeddGenerator.Open(package.Folder, new GeneratorOptions { Provider = ExecutionProvider.Cpu, Threads = 1 });
        using var cancel = new CancellationTokenSource();
        var plan = generator.Plan(new GenerationRequest { Prompt = "a", Steps = SeddGenerator.MaxSteps, Count = 2, Seed = 1 });
        var observer = new CancelAfter(3, cancel);
        var result = generator.Generate([plan], [cancel.Token], observer)[0];
        // Cancelled during step 3; step 4 sees it and is the last (not 100,001 steps).
        Assert.Equal(4, observer.Steps);
        Assert.All(result.Samples, s => Assert.Equal(FinishReason.Cancelled, s.Finish));
    }

    [Fact]
    public void SeddGeneratorCancellationTest_OtherRequestsOfTheBatchFinishAsTheyWouldAlone()
    {
        using var package = TinyPackage.Create(length: 16, timeIndependent: true);
        using var generator = SeddGenerator.Open(package.Folder, new GeneratorOptions { Provider = ExecutionProvider.Cpu, Threads = 1 });
        using var cancel = new CancellationTokenSource();
        var kept = generator.Plan(new GenerationRequest { Prompt = "b", Steps = 12, Count = 2, Seed = 5, KeepEos = true });
        var dropped = generator.Plan(new GenerationRequest { Prompt = "c", Steps = 12, Count = 1, Seed = 6 });
        Assert.Equal(kept.BatchKey, dropped.BatchKey);
        var observer = new CancelAfter(4, cancel);
        var results = generator.Generate([kept, dropped], [CancellationToken.None, cancel.Token], observer);
        Assert.Equal(13, observer.Steps);
        Assert.Equal(FinishReason.Cancelled, Assert.Single(results[1].Samples).Finish);
        var alone = generator.Generate([kept])[0];
        Assert.Equal(alone.Samples.Select(s => s.Text), results[0].Samples.Select(s => s.Text));
        Assert.All(results[0].Samples, s => Assert.NotEqual(FinishReason.Cancelled, s.Finish));
    }
}
