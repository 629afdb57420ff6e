using ScottPlot;
using Sedd.Evidence;

namespace Sedd.Benchmarks.Tests.Evidence;

public class EvidencePlotsTest
{
    static QualityRow Sedd(string predictor, int steps, double perplexity, double error) =>
        new("sedd", predictor, steps, 64, 128, Math.Log(perplexity), error, 6, 4.5, 0.01 * steps, steps + 1, steps + 1, 0, 0.03, 0.95);

    static List<QualityRow> Rows() =>
    [
        Sedd("euler", 8, 480, 0.05), Sedd("euler", 64, 350, 0.04), Sedd("analytic", 8, 480, 0.05), Sedd("analytic", 64, 350, 0.04),
        Sedd("first-hitting", 128, 300, 0.06),
        new("ar", "", 128, 64, 128, Math.Log(110), 0.03, 6, 4.5, 0.16, 128, 0, 0, null, null),
        new("text", "", 0, 64, 128, Math.Log(120), 0.04, 6, 4.4, 0, 0, 0, 0, null, null),
    ];

    [Fact]
    public void EvidencePlotsTest_LegendsSitOutsideTheDataArea()
    {
        foreach (var plot in new[] { EvidencePlots.BuildQuality(Rows(), "test"), EvidencePlots.BuildSpeed(Rows(), "test") })
        {
            // Inside the data area a legend can cover points and the reference lines; the panel on the right cannot.
            Assert.False(plot.Legend.IsVisible);
            Assert.Contains(plot.Axes.GetPanels(), p => p is ScottPlot.Panels.LegendPanel);
        }
    }

    [Fact]
    public void EvidencePlotsTest_QualityHasAnErrorBarOfTwoStandardErrorsPerPredictor()
    {
        var plot = EvidencePlots.BuildQuality(Rows(), "test");
        var bars = plot.GetPlottables().OfType<ScottPlot.Plottables.ErrorBar>().ToList();
        Assert.Equal(3, bars.Count); // euler, analytic, first-hitting
        var firstHitting = bars.Single(b => b.Xs.Count == 1);
        Assert.Equal(Math.Log2(128), firstHitting.Xs[0], 9);
        // ±2 s.e. of the mean log-perplexity on the log10 axis.
        Assert.Equal(2 * 0.06 / Math.Log(10), firstHitting.YErrorPositive![0], 9);
        Assert.Equal(2 * 0.06 / Math.Log(10), firstHitting.YErrorNegative![0], 9);
        Assert.Equal(2, plot.GetPlottables().OfType<ScottPlot.Plottables.HorizontalLine>().Count());
    }

    [Fact]
    public void EvidencePlotsTest_LogTicksSpanTheValuesFromTheTickBelowToTheTickAbove()
    {
        var ticks = EvidencePlots.LogTicks([130, 480]).Select(t => Math.Round(Math.Pow(10, t), 6)).ToArray();
        Assert.Equal([100, 200, 500], ticks);
        ticks = EvidencePlots.LogTicks([0.05, 1.4, double.NaN, -1]).Select(t => Math.Round(Math.Pow(10, t), 6)).ToArray();
        Assert.Equal([0.05, 0.1, 0.2, 0.5, 1, 2], ticks);
        Assert.Equal(2, EvidencePlots.LogTicks([200]).Count);
        Assert.Empty(EvidencePlots.LogTicks([double.NaN]));
    }

    [Fact]
    public void EvidencePlotsTest_PngsAreWritten()
    {
        var folder = Directory.CreateTempSubdirectory("sedd-plots-").FullName;
        try
        {
            EvidencePlots.Quality(Rows(), Path.Combine(folder, "quality.png"), "test");
            EvidencePlots.Speed(Rows(), Path.Combine(folder, "speed.png"), "test");
            foreach (var name in new[] { "quality.png", "speed.png" })
                Assert.Equal([0x89, (byte)'P', (byte)'N', (byte)'G'], File.ReadAllBytes(Path.Combine(folder, name))[..4]);
            Assert.Equal(2, Directory.GetFiles(folder).Length); // no temporary file left
        }
        finally
        {
            Directory.Delete(folder, recursive: true);
        }
    }
}
