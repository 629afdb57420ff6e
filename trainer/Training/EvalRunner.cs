using System.Globalization;
using Sedd.Runtime;
using Sedd.Runtime.IO;
using Sedd.Runtime.Noise;
using Sedd.Trainer.Data;
using Sedd.Trainer.Model;
using static TorchSharp.torch;

namespace Sedd.Trainer.Training;

/// <summary>
/// <c>sedd-train eval</c>: loads a checkpoint's EMA weights, or an fp32 model package's weights
/// (<see cref="PackageCheckpoint"/>), and scores a split.
/// </summary>
public static class EvalRunner
{
    /// <summary>
    /// Evaluates <paramref name="checkpoint"/> (a run folder, a checkpoint folder or an fp32 model package,
    /// which needs <paramref name="data"/>); <paramref name="cancel"/> stops it between forward passes. The
    /// batch is capped at the blocks scored, and refused (exit 1) when even that cannot fit in memory.
    /// </summary>
    public static EvalResult Run(string checkpoint, string split, int samples, int maxBlocks, int batch, string? data, long seed, int threads, TextWriter log,
        CancellationToken cancel = default)
    {
        ThreadCount.Check(threads, "--threads");
        if (data != null) UserFiles.RequirePathArgument(data, "--data");
        TrainConfig config;
        Dictionary<string, TorchSharp.torch.Tensor> weights;
        string weightsPath;
        PackageCheckpoint? package = null;
        if (PackageCheckpoint.Recognizes(checkpoint))
        {
            package = PackageCheckpoint.Load(checkpoint, data);
            (config, weights, weightsPath) = (package.Config, package.Weights, Path.Combine(package.Folder, PackageCheckpoint.WeightsFile));
        }
        else
        {
            var loaded = Checkpoint.Load(checkpoint);
            config = data is null ? loaded.Config : loaded.Config with { Data = data };
            (weights, weightsPath) = (loaded.Ema, Path.Combine(loaded.Folder, Checkpoint.EmaFile));
        }
        if (threads > 0) set_num_threads(threads);
        var device = Devices.Resolve(config.Training.Device);
        using var dataset = TokenDataset.Open(config.Data, DataSplits.Parse(split), cancel: cancel);
        if (package != null && dataset.Meta.Tokenizer != package.Tokenizer)
            throw new SeddException($"{config.Data} was prepared with tokenizer {dataset.Meta.Tokenizer}, but the package {checkpoint} uses {package.Tokenizer}", SeddException.BadInput);
        int length = config.Model.Length;
        int blocks = dataset.BlockCount(length);
        // A batch larger than what is scored only costs memory.
        batch = Math.Min(batch, maxBlocks > 0 ? Math.Min(blocks, maxBlocks) : blocks);
        MemoryBudget.Require(TrainingMemory.Forward(config, dataset.VocabSize, batch),
            $"evaluating batches of {batch} × {length} tokens", "use a smaller --batch");
        using var objective = Objectives.Create(config, dataset, device);
        ModelWeights.Load(objective.Network, package?.WeightsFor(objective.Network) ?? weights, weightsPath);
        double prior = config.Objective == "ar" ? 0
            : Evaluator.PriorPerToken(config.Graph.Type, dataset.VocabSize, NoiseSchedule.Create(config.Noise.Type, config.Noise.SigmaMin, config.Noise.SigmaMax).MaxTotalNoise);
        int lastPercent = -1;
        var clock = System.Diagnostics.Stopwatch.StartNew();
        var result = Evaluator.Evaluate(objective, config.Objective, dataset, split, length, batch, samples, maxBlocks, prior, (ulong)seed, device,
            (done, total) =>
            {
                int percent = (int)(100L * done / total);
                double elapsed = clock.Elapsed.TotalSeconds, left = elapsed / done * (total - done);
                if (percent / 10 != lastPercent / 10)
                    log.WriteLine(string.Create(CultureInfo.InvariantCulture, $"  {done}/{total} blocks ({percent}%), {Minutes(elapsed)} so far, about {Minutes(left)} left"));
                lastPercent = percent;
            }, cancel);
        return result;
    }

    static string Minutes(double seconds) => seconds < 90
        ? seconds.ToString("F0", CultureInfo.InvariantCulture) + " s"
        : (seconds / 60).ToString("F1", CultureInfo.InvariantCulture) + " min";

    /// <summary>A human summary of <paramref name="r"/>.</summary>
    public static string Describe(EvalResult r)
    {
        var c = CultureInfo.InvariantCulture;
        if (r.Objective == "ar")
            return string.Create(c, $"AR {r.Split}: {r.Tokens:N0} tokens in {r.Blocks} blocks, NLL {r.Diffusion:F4} nats/token, perplexity {r.Perplexity:F2} (exact) [{r.Seconds:F0} s]");
        var (lo, hi) = r.PerplexityInterval;
        return string.Create(c, $"SEDD {r.Split}: {r.Tokens:N0} tokens in {r.Blocks} blocks, K = {r.Samples} time samples per sequence\n" +
            $"  diffusion term {r.Diffusion:F4} ± {r.StandardError:F4} (MC s.e.) nats/token, prior term {r.Prior:F4} nats/token\n" +
            $"  perplexity ≤ {r.Perplexity:F2}  (±2 s.e.: {lo:F2} … {hi:F2}) [{r.Seconds:F0} s]");
    }
}
