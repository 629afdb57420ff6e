using ScottPlot;

namespace Sedd.Trainer.Training;

/// <summary>
/// loss.png beside metrics.jsonl: training and validation nats per token against step. Each training
/// point is the mean over the steps since the previous one (<c>training.log_every</c>), so the curve is
/// smoother than the per-step loss the console shows; the legend says which.
/// </summary>
public static class LossPlot
{
    /// <summary>Legend of the training curve: "train (mean of each 10 steps)" or, for mixed windows, "(mean between points)".</summary>
    /// <param name="metricsPath">metrics.jsonl.</param>
    public static string TrainLegend(string metricsPath)
    {
        var (_, windows) = MetricsLog.Series(metricsPath, "train", "window_steps");
        var distinct = windows.Distinct().ToArray();
        return distinct.Length == 1
            ? distinct[0] == 1 ? "train (each step)" : $"train (mean of each {distinct[0]:F0} steps)"
            : "train (mean of the steps between points)";
    }

    /// <summary>Renders the plot; failures to render (no fonts, say) are reported by the caller, never fatal.</summary>
    /// <param name="metricsPath">metrics.jsonl.</param>
    /// <param name="pngPath">Output PNG.</param>
    /// <param name="title">Plot title.</param>
    public static void Write(string metricsPath, string pngPath, string title)
    {
        // The plot replaces its file by renaming, which must never replace anything but a regular file.
        if (Sedd.Runtime.IO.FileKinds.Of(pngPath) is not (Sedd.Runtime.IO.FileKind.Missing or Sedd.Runtime.IO.FileKind.Regular))
            throw new IOException($"{pngPath} is not a regular file");
        var plot = new Plot();
        var (ts, tv) = MetricsLog.Series(metricsPath, "train", "nats_per_token");
        var (vs, vv) = MetricsLog.Series(metricsPath, "valid", "nats_per_token");
        if (ts.Length > 0)
        {
            var train = plot.Add.ScatterLine(ts, tv);
            train.LegendText = TrainLegend(metricsPath);
            train.LineWidth = 1;
        }
        if (vs.Length > 0)
        {
            var valid = plot.Add.Scatter(vs, vv);
            valid.LegendText = "valid (EMA weights)";
            valid.LineWidth = 2;
        }
        plot.Title(title);
        plot.XLabel("optimiser step");
        plot.YLabel("nats per token (SEDD: upper bound)");
        plot.ShowLegend(Alignment.UpperRight); // losses fall: the lower right is where the latest steps are
        var temp = pngPath + ".tmp.png";
        try
        {
            plot.SavePng(temp, 900, 540);
            File.Move(temp, pngPath, overwrite: true);
        }
        finally
        {
            if (File.Exists(temp)) File.Delete(temp); // a full disk leaves no half-written plot behind
        }
    }
}
