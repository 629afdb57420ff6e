using ScottPlot;

namespace Sedd.Evidence;

/// <summary>
/// The two PNGs: generative perplexity against steps (with ±2 s.e. error bars) and seconds per sample
/// against steps. Legends sit outside the data area, to the right, so they never cover a point, an
/// error bar or a reference line.
/// </summary>
static class EvidencePlots
{
    const double Log10E = 0.43429448190325182;

    // One colour per series in both plots (Category10), so a predictor looks the same everywhere.
    static readonly ScottPlot.Palettes.Category10 Palette = new();

    static Color ColorOf(string series) => Palette.GetColor(series switch
    {
        "euler" => 0,
        "analytic" => 1,
        "first-hitting" => 2,
        "ar" => 3,
        _ => 7,
    });

    /// <summary>quality.png: one line per predictor (log₂ steps on x), first-hitting at its call count, horizontal lines for the AR's samples and real text.</summary>
    public static void Quality(IReadOnlyList<QualityRow> rows, string path, string subtitle) => Save(BuildQuality(rows, subtitle), path);

    /// <summary>The quality plot, not yet rendered.</summary>
    internal static Plot BuildQuality(IReadOnlyList<QualityRow> rows, string subtitle)
    {
        var plot = new Plot();
        foreach (var group in SeddGroups(rows))
        {
            var points = group.OrderBy(r => r.Steps).ToArray();
            var xs = points.Select(r => Math.Log2(r.Steps)).ToArray();
            var ys = points.Select(r => Math.Log10(r.GenPerplexity)).ToArray();
            var line = plot.Add.Scatter(xs, ys);
            Style(line, group.Key, points.Length);
            // ±2 s.e. of the mean log-perplexity, on the log10 axis: symmetric, 2·s.e.·log10(e) each way.
            var bars = plot.Add.ErrorBar(xs, ys, points.Select(r => 2 * r.StandardError * Log10E).ToArray());
            bars.Color = ColorOf(group.Key);
            bars.LineWidth = 1.5f;
        }
        AddReference(plot, rows.Single(r => r.Source == "ar"), "AR baseline's own samples", LinePattern.Dashed, r => r.GenPerplexity, ColorOf("ar"));
        AddReference(plot, rows.Single(r => r.Source == "text"), "Brown test text", LinePattern.Dotted, r => r.GenPerplexity, ColorOf("text"));
        StepAxis(plot, rows);
        LogAxis(plot, rows.SelectMany(r => new[] { r.Low, r.High }));
        plot.Title("Generative perplexity (independent AR scorer; bars: ±2 s.e.)\n" + subtitle);
        plot.YLabel("generative perplexity (log scale, lower is better)");
        return plot;
    }

    /// <summary>speed.png: seconds per sample per predictor, first-hitting at its call count, the AR baseline (KV cache) as a line.</summary>
    public static void Speed(IReadOnlyList<QualityRow> rows, string path, string subtitle) => Save(BuildSpeed(rows, subtitle), path);

    /// <summary>The speed plot, not yet rendered.</summary>
    internal static Plot BuildSpeed(IReadOnlyList<QualityRow> rows, string subtitle)
    {
        var plot = new Plot();
        foreach (var group in SeddGroups(rows))
        {
            var points = group.OrderBy(r => r.Steps).ToArray();
            var line = plot.Add.Scatter(points.Select(r => Math.Log2(r.Steps)).ToArray(), points.Select(r => Math.Log10(r.SecondsPerSample)).ToArray());
            Style(line, group.Key, points.Length);
        }
        var ar = rows.Single(r => r.Source == "ar");
        AddReference(plot, ar, $"AR baseline, KV cache ({ar.Length} tokens)", LinePattern.Dashed, r => r.SecondsPerSample, ColorOf("ar"));
        StepAxis(plot, rows);
        LogAxis(plot, rows.Where(r => r.Source != "text").Select(r => r.SecondsPerSample));
        plot.Title("Wall time per sample\n" + subtitle);
        plot.YLabel("seconds per sample (log scale)");
        return plot;
    }

    static IEnumerable<IGrouping<string, QualityRow>> SeddGroups(IReadOnlyList<QualityRow> rows) =>
        rows.Where(r => r.Source == "sedd").GroupBy(r => r.Predictor);

    static void Style(ScottPlot.Plottables.Scatter line, string predictor, int points)
    {
        line.LegendText = predictor == "first-hitting" ? "SEDD first-hitting (1 call per token)" : $"SEDD {predictor}";
        line.Color = ColorOf(predictor);
        // Euler drawn wider underneath: where the two predictors coincide both stay visible.
        line.LineWidth = predictor == "euler" ? 5 : 2;
        line.MarkerSize = predictor == "euler" ? 11 : 7;
        if (predictor == "first-hitting" || points == 1)
        {
            line.MarkerShape = MarkerShape.FilledDiamond;
            line.MarkerSize = 13;
        }
    }

    static void AddReference(Plot plot, QualityRow row, string label, LinePattern pattern, Func<QualityRow, double> y, Color color)
    {
        var line = plot.Add.HorizontalLine(Math.Log10(y(row)));
        line.Color = color;
        line.LegendText = label;
        line.LinePattern = pattern;
    }

    // Log scale by hand: x is log₂(steps), ticks are labelled with the step counts.
    static void StepAxis(Plot plot, IReadOnlyList<QualityRow> rows)
    {
        var steps = rows.Where(r => r.Source == "sedd").Select(r => r.Steps).Distinct().Order().ToArray();
        plot.Axes.Bottom.SetTicks(steps.Select(s => Math.Log2(s)).ToArray(), steps.Select(s => s.ToString(EvidenceReport.C)).ToArray());
        plot.Axes.SetLimitsX(Math.Log2(steps[0]) - 0.5, Math.Log2(steps[^1]) + 0.5);
        plot.XLabel("sampling steps, or network calls for first-hitting (log scale)");
        // Outside the data area: it can cover neither a point nor a reference line.
        plot.ShowLegend(Edge.Right);
    }

    // Log scale by hand on y: values are log10, ticks at 1, 2 and 5 × 10^k labelled with the values; the
    // axis runs from the tick below the smallest value to the tick above the largest.
    static void LogAxis(Plot plot, IEnumerable<double> values)
    {
        var ticks = LogTicks(values);
        if (ticks.Count == 0) return;
        plot.Axes.Left.SetTicks([.. ticks], [.. ticks.Select(t => Math.Pow(10, t)).Select(v => v.ToString(v >= 1 ? "N0" : "G3", EvidenceReport.C))]);
        plot.Axes.SetLimitsY(ticks[0], ticks[^1]);
    }

    /// <summary>log10 of the 1-2-5 ticks that span <paramref name="values"/> (positive, finite ones), one below and one above.</summary>
    internal static List<double> LogTicks(IEnumerable<double> values)
    {
        var logs = values.Where(v => v > 0 && double.IsFinite(v)).Select(Math.Log10).ToArray();
        if (logs.Length == 0) return [];
        double min = logs.Min(), max = logs.Max();
        var all = new List<double>();
        for (double k = Math.Floor(min) - 1; k <= Math.Ceiling(max) + 1; k++)
            foreach (double m in new[] { 1.0, 2.0, 5.0 }) all.Add(k + Math.Log10(m));
        int first = all.FindLastIndex(t => t <= min + 1e-12), last = all.FindIndex(t => t >= max - 1e-12);
        if (last == first) last++; // one value on a tick: still an axis of some height
        return all.GetRange(first, last - first + 1);
    }

    static void Save(Plot plot, string path)
    {
        var temp = path + ".tmp.png";
        plot.SavePng(temp, 1100, 560);
        File.Move(temp, path, overwrite: true);
    }
}
