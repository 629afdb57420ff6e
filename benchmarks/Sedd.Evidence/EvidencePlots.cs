using ScottPlot;

namespace Sedd.Evidence;

/// <summary>The two PNGs: generative perplexity against steps, and seconds per sample against steps.</summary>
static class EvidencePlots
{
    /// <summary>quality.png: one line per predictor (log₂ steps on x), horizontal lines for the AR's samples and real text.</summary>
    public static void Quality(IReadOnlyList<QualityRow> rows, string path, string subtitle)
    {
        var plot = new Plot();
        AddPredictorLines(plot, rows, r => r.GenPerplexity);
        var ar = rows.Single(r => r.Source == "ar");
        var text = rows.Single(r => r.Source == "text");
        var arLine = plot.Add.HorizontalLine(ar.GenPerplexity);
        arLine.LegendText = "AR baseline's own samples";
        arLine.LinePattern = LinePattern.Dashed;
        var textLine = plot.Add.HorizontalLine(text.GenPerplexity);
        textLine.LegendText = "Brown test text";
        textLine.LinePattern = LinePattern.Dotted;
        StepAxis(plot, rows);
        plot.Title("Generative perplexity (scored by the AR baseline)\n" + subtitle);
        plot.YLabel("generative perplexity (lower is better)");
        Save(plot, path);
    }

    /// <summary>speed.png: seconds per sample per predictor, with the AR baseline (KV cache) as a line.</summary>
    public static void Speed(IReadOnlyList<QualityRow> rows, string path, string subtitle)
    {
        var plot = new Plot();
        AddPredictorLines(plot, rows, r => r.SecondsPerSample);
        var ar = rows.Single(r => r.Source == "ar");
        var arLine = plot.Add.HorizontalLine(ar.SecondsPerSample);
        arLine.LegendText = $"AR baseline, KV cache ({ar.Length} tokens)";
        arLine.LinePattern = LinePattern.Dashed;
        StepAxis(plot, rows);
        plot.Title("Wall time per sample\n" + subtitle);
        plot.YLabel("seconds per sample");
        Save(plot, path);
    }

    static void AddPredictorLines(Plot plot, IReadOnlyList<QualityRow> rows, Func<QualityRow, double> y)
    {
        foreach (var group in rows.Where(r => r.Source == "sedd").GroupBy(r => r.Predictor))
        {
            var points = group.OrderBy(r => r.Steps).ToArray();
            var line = plot.Add.Scatter(points.Select(r => Math.Log2(r.Steps)).ToArray(), points.Select(y).ToArray());
            line.LegendText = $"SEDD {group.Key}";
            line.LineWidth = 2;
            line.MarkerSize = 7;
        }
    }

    // Log scale by hand: x is log₂(steps), ticks are labelled with the step counts.
    static void StepAxis(Plot plot, IReadOnlyList<QualityRow> rows)
    {
        var steps = rows.Where(r => r.Source == "sedd").Select(r => r.Steps).Distinct().Order().ToArray();
        plot.Axes.Bottom.SetTicks(steps.Select(s => Math.Log2(s)).ToArray(), steps.Select(s => s.ToString(EvidenceReport.C)).ToArray());
        plot.XLabel("sampling steps (log scale)");
        plot.ShowLegend();
    }

    static void Save(Plot plot, string path)
    {
        var temp = path + ".tmp.png";
        plot.SavePng(temp, 900, 540);
        File.Move(temp, path, overwrite: true);
    }
}
