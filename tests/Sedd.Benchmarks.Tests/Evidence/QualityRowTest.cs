using Sedd.Evidence;

namespace Sedd.Benchmarks.Tests.Evidence;

public class QualityRowTest
{
    static QualityRow Row(double mean, double error) => new("sedd", "analytic", 8, 64, 128, mean, error, 6, 4.5, 0.1, 9, 9, 0, 0.02, 0.95);

    [Fact]
    public void QualityRowTest_MeanAndStandardErrorAreThoseOfTheSamples()
    {
        // Values 1, 2, 3, 4: mean 2.5, sample variance 5/3, s.e. sqrt(5/3 / 4).
        var (mean, error) = QualityRow.MeanAndError([1.0, 2.0, 3.0, 4.0]);
        Assert.Equal(2.5, mean, 12);
        Assert.Equal(Math.Sqrt(5.0 / 3 / 4), error, 12);
        Assert.Equal((5.0, 0.0), QualityRow.MeanAndError([5.0]));
        Assert.True(double.IsNaN(QualityRow.MeanAndError([]).Mean));
        // Equal samples have no spread.
        Assert.Equal(0, QualityRow.MeanAndError([3.0, 3.0, 3.0]).StandardError, 12);
    }

    [Fact]
    public void QualityRowTest_PerplexityAndIntervalComeFromTheMeanLogPerplexity()
    {
        var r = Row(Math.Log(200), 0.05);
        Assert.Equal(200, r.GenPerplexity, 9);
        Assert.Equal(200 * Math.Exp(-0.1), r.Low, 9);
        Assert.Equal(200 * Math.Exp(0.1), r.High, 9);
        Assert.True(r.Low < r.GenPerplexity && r.GenPerplexity < r.High);
        Assert.Equal("SEDD analytic", r.Name);
        Assert.Equal("AR samples", (r with { Source = "ar" }).Name);
        Assert.Equal("Brown test text", (r with { Source = "text" }).Name);
    }

    [Fact]
    public void QualityRowTest_StepsCellSaysWhatACallCountMeans()
    {
        var r = Row(5, 0.1);
        Assert.Equal("8", QualitySection.StepsCell(r));
        Assert.Equal("128 calls (1 per token)", QualitySection.StepsCell(r with { Predictor = "first-hitting", Steps = 128 }));
        Assert.Equal("128 (1 per token)", QualitySection.StepsCell(r with { Source = "ar", Steps = 128 }));
        Assert.Equal("—", QualitySection.StepsCell(r with { Source = "text", Steps = 0 }));
    }
}
