using ScottPlot;

namespace Sedd.Trainer.Training;

/// <summary>loss.png beside metrics.jsonl: training and validation nats per token against step.</summary>
public static class LossPlot
{
    /// <summary>Renders the plot; failures to render (no fonts, say) are reported by the caller, never fatal.</summary>
    /// <param name="metricsPath">metrics.jsonl.</param>
    /// <param name="pngPath">Output PNG.</param>
    /// <param name="title">Plot title.</param>
    public static void Write(string metricsPath, string pngPath, string title)
    {
        var plot = new Plot();
        var (ts, tv) = MetricsLog.Series(metricsPath, "train", "nats_per_token");
        var (vs, vv) = MetricsLog.Series(metricsPath, "valid", "nats_per_token");
        if (ts.Length > 0)
        {
            var train = plot.Add.ScatterLine(ts, tv);
            train.LegendText = "train (batch)";
            train.LineWidth = 1;
        }
        if (vs.Length > 0)
        {
            var valid = plot.Add.Scatter(vs, vv);
            valid.LegendText = "valid (EMA)";
            valid.LineWidth = 2;
        }
        plot.Title(title);
        plot.XLabel("optimiser step");
        plot.YLabel("nats per token (SEDD: upper bound)");
        plot.ShowLegend(Alignment.UpperRight); // losses fall: the lower right is where the latest steps are
        var temp = pngPath + ".tmp.png";
        plot.SavePng(temp, 900, 540);
        File.Move(temp, pngPath, overwrite: true);
    }
}
