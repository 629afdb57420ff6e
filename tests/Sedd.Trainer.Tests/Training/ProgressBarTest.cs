using Sedd.Trainer.Training;

namespace Sedd.Trainer.Tests.Training;

/// <summary>Progress counts what will happen: steps 1..N of N, or the time budget when that ends the run first; losses say which they are.</summary>
public class ProgressBarTest
{
    [Fact]
    public void ProgressBarTest_StepsCountToTheTargetAndNoFurther()
    {
        var bar = new ProgressBar(1, 256, 10, TextWriter.Null);
        Assert.Equal("step 1/256", bar.Progress(1, 0.5).Counter);
        var (counter, fraction, eta) = bar.Progress(256, 128);
        Assert.Equal("step 256/256", counter);
        Assert.Equal(1.0, fraction);
        Assert.Equal(0, eta);
        // A resumed run counts on from its checkpoint.
        Assert.Equal("step 7/12", new ProgressBar(7, 12, 1, TextWriter.Null).Progress(7, 1).Counter);
    }

    [Fact]
    public void ProgressBarTest_ATimeLimitedRunShowsItsBudgetNotAnUnreachableTarget()
    {
        // quickstart: 100000 steps allowed, 3 minutes of time; after 10 steps in 18 s the time ends it first.
        var bar = new ProgressBar(1, 100000, 10, TextWriter.Null, maxSeconds: 180);
        var (counter, fraction, eta) = bar.Progress(10, 18);
        Assert.Equal("step 10 (18s of 3.0m)", counter);
        Assert.Equal(0.1, fraction, 9);
        Assert.Equal(162, eta, 9);
        // A target the budget reaches is shown as usual.
        Assert.Equal("step 10/20", new ProgressBar(1, 20, 10, TextWriter.Null, maxSeconds: 180).Progress(10, 18).Counter);
    }

    [Fact]
    public void ProgressBarTest_PlainLinesLabelTheStepLossAndTheLoggedMean()
    {
        var output = new StringWriter();
        var bar = new ProgressBar(1, 20, 10, output);
        for (long s = 1; s <= 20; s++) bar.Report(s, 5.0 + s / 100.0, s % 10 == 0 ? (5.5, 10) : null, 1000);
        var lines = output.ToString().Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal(2, lines.Length);
        Assert.StartsWith("step 10/20: loss 5.1000 nats/token this step, 5.5000 mean of the last 10 steps (as in metrics.jsonl)", lines[0], StringComparison.Ordinal);
        Assert.StartsWith("step 20/20:", lines[1], StringComparison.Ordinal);
    }
}
