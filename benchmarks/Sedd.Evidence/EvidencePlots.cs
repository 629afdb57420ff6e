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
        var arLine = plot.Add.HorizontalLine(Math.Log10(ar.GenPerplexity));
        arLine.LegendText = "AR baseline's own samples";
        arLine.LinePattern = LinePattern.Dashed;
        var textLine = plot.Add.HorizontalLine(Math.Log10(text.GenPerplexity));
        textLine.LegendText = "Brown test text";
        textLine.LinePattern = LinePattern.Dotted;
        StepAxis(plot, rows);
        LogAxis(plot, rows.Select(r => r.GenPerplexity));
        plot.Title("Generative perplexity (scored by the AR baseline)\n" + subtitle);
        plot.YLabel("generative perplexity (log scale, lower is better)");
        Save(plot, path);
    }

    /// <summary>speed.png: seconds per sample per predictor, with the AR baseline (KV cache) as a line.</summary>
    public static void Speed(IReadOnlyList<QualityRow> rows, string path, string subtitle)
    {
        var plot = new Plot();
        AddPredictorLines(plot, rows, r => r.SecondsPerSample);
        var ar = rows.Single(r => r.Source == "ar");
        var arLine = plot.Add.HorizontalLine(Math.Log10(ar.SecondsPerSample));
        arLine.LegendText = $"AR baseline, KV cache ({ar.Length} tokens)";
        arLine.LinePattern = LinePattern.Dashed;
        StepAxis(plot, rows);
        LogAxis(plot, rows.Where(r => r.Source != "text").Select(r => r.SecondsPerSample));
        plot.Title("Wall time per sample\n" + subtitle);
        plot.YLabel("seconds per sample (log scale)");
        Save(plot, path);
    }

    static void AddPredictorLines(Plot plot, IReadOnlyList<QualityRow> rows, Func<QualityRow, double> y)
    {
        foreach (var group in rows.Where(r => r.Source == "sedd").GroupBy(r => r.Predictor))
        {
            var points = group.OrderBy(r => r.Steps).ToArray();
            var line = plot.Add.Scatter(points.Select(r => Math.Log2(r.Steps)).ToArray(), points.Select(r => Math.Log10(y(r))).ToArray());
            line.LegendText = $"SEDD {group.Key}";
            // Euler drawn wider underneath: where the two predictors coincide both stay visible.
            line.LineWidth = group.Key == "euler" ? 5 : 2;
            line.MarkerSize = group.Key == "euler" ? 11 : 7;
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

    // Log scale by hand on y: values are log10, ticks at 1, 2 and 5 × 10^k labelled with the values.
    static void LogAxis(Plot plot, IEnumerable<double> values)
    {
        var logs = values.Where(v => v > 0 && double.IsFinite(v)).Select(Math.Log10).ToArray();
        if (logs.Length == 0) return;
        double low = Math.Floor(logs.Min()), high = Math.Ceiling(logs.Max());
        var ticks = new List<double>();
        for (double k = low; k <= high; k++)
            foreach (double m in new[] { 1.0, 2.0, 5.0 })
                if (k + Math.Log10(m) <= high) ticks.Add(k + Math.Log10(m));
        plot.Axes.Left.SetTicks([.. ticks], [.. ticks.Select(t => Math.Pow(10, t)).Select(v => v.ToString(v >= 1 ? "N0" : "G3", EvidenceReport.C))]);
        plot.Axes.SetLimitsY(low, high);
    }

    static void Save(Plot plot, string path)
    {
        var temp = path + ".tmp.png";
        plot.SavePng(temp, 900, 540);
        File.Move(temp, path, overwrite: true);
    }
}
