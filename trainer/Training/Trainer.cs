using System.Diagnostics;
using System.Text.Json.Nodes;
using Sedd.Cli;
using Sedd.Runtime;
using Sedd.Runtime.IO;
using Sedd.Trainer.Data;
using Sedd.Trainer.Model;
using TorchSharp;
using static TorchSharp.torch;

namespace Sedd.Trainer.Training;

/// <summary>
/// The training loop (spec §7), shared by SEDD and the AR baseline: AdamW with linear warm-up,
/// global-norm clipping, EMA, dropout, seeded and resumable. One readable loop, nanoGPT style.
/// </summary>
public sealed class Trainer
{
    /// <summary>Where progress lines go.</summary>
    public TextWriter Output { get; init; } = Console.Out;

    /// <summary>Test hook passed to <see cref="Checkpoint.Save"/>.</summary>
    internal Action<string>? CheckpointFault { get; init; }

    /// <summary>Losses (nats per token) of every step run by the last <see cref="Run"/> call, by step.</summary>
    public SortedDictionary<long, double> StepLosses { get; } = [];

    /// <summary>Trains until config.training.steps (or max_seconds, or cancellation). Returns the final state.</summary>
    /// <param name="config">Resolved config.</param>
    /// <param name="resume">Continue the latest checkpoint in the output folder.</param>
    /// <param name="cancel">Ctrl+C: a checkpoint is written and the loop ends.</param>
    /// <param name="init">Model package to start from (<see cref="WarmStart"/>); not with <paramref name="resume"/>.</param>
    /// <param name="startOver">The output folder may hold an earlier run: move it to previous/ and start a new one (<see cref="RunFolder"/>).</param>
    public TrainState Run(TrainConfig config, bool resume, CancellationToken cancel, string? init = null, bool startOver = false)
    {
        var t = config.Training;
        if (resume && init != null)
            throw new SeddException("--resume continues a run's own checkpoint and --init starts a new run from a package; pass one of them", SeddException.Usage);
        if (resume && startOver)
            throw new SeddException("--resume continues the run in the output folder and --start-over replaces it with a new one; pass one of them", SeddException.Usage);
        var start = resume ? RunStart.Resume : startOver ? RunStart.StartOver : RunStart.New;
        // Before any slow work: a folder this run may not write to is refused at once.
        RunFolder.Check(config.Output, start);
        var device = Devices.Resolve(t.Device);
        // A run made on a machine with more cores keeps its setting, within this machine's limit.
        if (t.Threads > 0) set_num_threads(Math.Min(t.Threads, ThreadCount.Max));
        manual_seed(t.Seed);

        using var train = TokenDataset.Open(config.Data, DataSplit.Train, cancel: cancel);
        using var valid = TokenDataset.Open(config.Data, DataSplit.Valid, cancel: cancel);
        int length = config.Model.Length, batch = t.BatchSize, micro = batch / t.Accum;
        // Settings that cannot fit in memory are the settings' mistake (exit 1), whatever the data.
        TrainingMemory.RequireTraining(config, train.VocabSize);
        int blocks = train.BlockCount(length);
        if (blocks < micro)
            throw new SeddException($"the train split of {config.Data} has {blocks} blocks of {length} tokens, fewer than one micro-batch of {micro}", SeddException.BadInput);
        // A valid split shorter than one block would otherwise fail at the first validation, after training work.
        if (t.EvalEvery > 0) valid.BlockCount(length);

        LoadedCheckpoint? from = null;
        WarmStart? warm = null;
        if (resume)
        {
            var existing = Checkpoint.Latest(config.Output)
                ?? throw new SeddException($"--resume: {config.Output} holds no checkpoint (pass --start-over to start a new run there)", SeddException.BadInput);
            from = Checkpoint.Load(existing);
            Checkpoint.RequireCompatible(from.Config, config, from.Folder);
        }
        if (init != null)
        {
            warm = WarmStart.Load(init, config, train);
            // The draws of a warm start should not replay those of the run that made the package.
            manual_seed(t.Seed + warm.Steps);
        }
        cancel.ThrowIfCancellationRequested(); // nothing written yet
        if (startOver) RunFolder.MoveAside(config.Output, Output);
        PrepareOutput(config);

        using var objective = Objectives.Create(config, train, device);
        var network = objective.Network;
        var named = network.named_parameters().ToArray();
        using var adam = new AdamW(named, config.Optim);
        using var ema = new Ema(named, t.Ema);
        var noise = new Generator((ulong)(t.Seed + 1 + (warm?.Steps ?? 0)), device);
        var state = new TrainState();
        if (from != null)
        {
            state = from.State;
            ModelWeights.Load(network, from.Model, Path.Combine(from.Folder, "model.safetensors"));
            adam.Load(Prefixed(from.Optimizer, "exp_avg"), from.Optimizer.TryGetValue("adam.step", out var s) ? s.item<long>() : state.Step);
            ema.Load(from.Ema, state.EmaUpdates);
            random.set_rng_state(from.Optimizer["rng.global"]);
            noise.set_state(from.Optimizer["rng.noise"]);
            Output.WriteLine($"resumed {from.Folder} at step {state.Step}");
        }
        else if (warm != null)
        {
            state = warm.InitialState(blocks, length);
            ModelWeights.Load(network, warm.Weights, Path.Combine(warm.Folder, "model.safetensors"));
            ema.Load(warm.Weights, state.EmaUpdates);
            Output.WriteLine($"started from package {warm.Folder}: step {state.Step}, {state.Tokens:N0} tokens; fresh AdamW moments, learning rate warms up again over {config.Optim.Warmup} steps");
            if (warm.Parameterization != config.Model.Parameterization)
                Output.WriteLine($"parameterization {warm.Parameterization} → {config.Model.Parameterization}: the package's weights with the new output post-processing");
        }
        Output.WriteLine($"{config.Objective} {(config.Objective == "sedd" ? config.Graph.Type : "causal")} model: {ModelWeights.ParameterCount(network):N0} parameters, " +
                         $"{blocks} train blocks of {length}, batch {batch}, device {device.type}, precision {t.Precision}; native heap: {NativeHeap.InForce}");

        var sampler = new BlockSampler(blocks, t.Seed, state.Epoch, state.Cursor);
        using var metrics = new MetricsLog(Path.Combine(config.Output, RunFolder.MetricsFile), from != null ? state.Step : null);
        var bar = new ProgressBar(state.Step + 1, t.Steps, t.LogEvery, Output, t.MaxSeconds);
        var buffer = new long[micro * length];
        var clock = Stopwatch.StartNew();
        double startSeconds = state.Seconds, windowStart = 0;
        long windowTokens = 0;
        double windowLoss = 0;
        int windowSteps = 0;
        network.train();

        void Save(string why)
        {
            state = state with { Epoch = sampler.Epoch, Cursor = sampler.Cursor, Seconds = startSeconds + clock.Elapsed.TotalSeconds, EmaUpdates = ema.Updates };
            var dir = Checkpoint.Save(config.Output, config, state,
                network.state_dict().Select(p => (p.Key, p.Value)),
                EmaStateDict(network, ema),
                adam.State().Append(("rng.global", random.get_rng_state())).Append(("rng.noise", noise.get_state()))
                    .Append(("adam.step", tensor(adam.Step))),
                CheckpointFault);
            Checkpoint.Prune(config.Output, t.KeepCheckpoints, state.BestValidStep);
            TryPlot(config);
            bar.Line($"checkpoint {dir} ({why})");
        }

        for (long step = state.Step + 1; step <= t.Steps; step++)
        {
            if (cancel.IsCancellationRequested) { Save("interrupted"); return state; }
            if (t.MaxSeconds > 0 && clock.Elapsed.TotalSeconds >= t.MaxSeconds) { Save("time limit"); return state; }

            double lossValue = 0;
            double norm;
            using (var scope = NewDisposeScope())
            {
                adam.ZeroGrad();
                for (int a = 0; a < t.Accum; a++)
                {
                    for (int i = 0; i < micro; i++) train.ReadBlock(sampler.Next(), length, buffer.AsSpan(i * length, length));
                    var x0 = tensor(buffer, [micro, length], ScalarType.Int64).to(device);
                    var perSequence = objective.TrainingLoss(x0, noise);
                    var loss = perSequence.mean() / t.Accum;
                    loss.backward();
                    lossValue += loss.item<float>();
                }
                norm = adam.ClipGradients(config.Optim.GradClip);
            }
            double natsPerToken = lossValue / length;
            bool finite = double.IsFinite(lossValue) && double.IsFinite(norm);
            if (finite) adam.Update(AdamW.LearningRate(config.Optim, step - state.WarmupFrom, t.Steps - state.WarmupFrom));
            else
            {
                adam.ZeroGrad(); // the reference's loss scaler skips such a step; the step counter and EMA still advance
                state = state with { NonFinite = state.NonFinite + 1 };
                bar.Line($"step {step}: non-finite {(double.IsFinite(lossValue) ? "gradient norm" : "loss")} ({state.NonFinite}/{t.MaxNonFinite}); update skipped");
                metrics.Write(new JsonObject { ["step"] = step, ["kind"] = "nonfinite", ["loss"] = lossValue.ToString(), ["grad_norm"] = norm.ToString() });
            }
            ema.Update();
            state = state with { Step = step, Tokens = state.Tokens + (long)batch * length };
            StepLosses[step] = natsPerToken;
            windowTokens += (long)batch * length;
            if (finite) { windowLoss += lossValue; windowSteps++; }
            double now = clock.Elapsed.TotalSeconds, tokPerSec = windowTokens / Math.Max(1e-9, now - windowStart);
            (double Mean, int Steps)? logged = null;
            if (step % t.LogEvery == 0 || step == t.Steps)
            {
                logged = (windowLoss / windowSteps / length, windowSteps);
                metrics.Write(new JsonObject
                {
                    // loss: per-sequence loss (spec §4.1's logged value) averaged over the window_steps steps since the last line.
                    ["step"] = step, ["kind"] = "train", ["loss"] = Finite(windowLoss / windowSteps), ["nats_per_token"] = Finite(logged.Value.Mean),
                    ["window_steps"] = windowSteps, ["lr"] = AdamW.LearningRate(config.Optim, step - state.WarmupFrom, t.Steps - state.WarmupFrom), ["grad_norm"] = Finite(norm),
                    ["tokens"] = state.Tokens, ["tokens_per_s"] = tokPerSec, ["seconds"] = startSeconds + now, ["nonfinite"] = state.NonFinite,
                });
                windowStart = now;
                windowTokens = 0;
                windowLoss = 0;
                windowSteps = 0;
            }
            bar.Report(step, natsPerToken, logged, tokPerSec);
            if (state.NonFinite >= t.MaxNonFinite)
            {
                Save("non-finite limit");
                throw new SeddException($"stopped at step {step}: {state.NonFinite} steps had a non-finite loss or gradient (training.max_non_finite = {t.MaxNonFinite}); lower optim.lr or check the data", SeddException.BadInput);
            }

            // After Ctrl+C the validation is skipped: the checkpoint comes first (below, or at the next step's start).
            bool evalNow = t.EvalEvery > 0 && (step % t.EvalEvery == 0 || step == t.Steps) && !cancel.IsCancellationRequested;
            bool newBest = false;
            if (evalNow)
            {
                double v = Evaluator.QuickValidation(objective, ema, valid, length, micro, t.EvalBatches, (ulong)t.Seed + 2, device);
                newBest = double.IsFinite(v) && (state.BestValid is null || v < state.BestValid);
                state = newBest
                    ? state with { BestValid = v, BestValidStep = step, ValidationsSinceBest = 0 }
                    : state with { ValidationsSinceBest = state.ValidationsSinceBest + 1 };
                metrics.Write(new JsonObject { ["step"] = step, ["kind"] = "valid", ["nats_per_token"] = Finite(v), ["best"] = newBest });
                bar.Line($"step {step}: valid {v:F4} nats/token (EMA weights){(newBest ? ", best so far" : "")}");
            }
            if (evalNow && t.Patience > 0 && state.ValidationsSinceBest >= t.Patience && step < t.Steps)
            {
                // Early stopping: the final checkpoint is written as usual; Prune keeps the best one.
                bar.Line($"early stop at step {step}: {state.ValidationsSinceBest} validations in a row without a new best " +
                         $"(best {state.BestValid:F4} nats/token at step {state.BestValidStep}; training.patience = {t.Patience})");
                Save("early stop");
                return state;
            }
            if (step % t.CheckpointEvery == 0 || step == t.Steps || newBest) Save(newBest ? "best validation" : "periodic");
        }
        return state;
    }

    // JSON has no NaN or infinity: a non-finite value is written as null (and counted separately).
    static JsonNode? Finite(double x) => double.IsFinite(x) ? JsonValue.Create(x) : null;

    static void PrepareOutput(TrainConfig config)
    {
        try { Directory.CreateDirectory(config.Output); }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        { throw new SeddException($"cannot create output folder {config.Output}: {e.Message}", SeddException.Environment); }
        AtomicFile.WriteAllText(Path.Combine(config.Output, RunFolder.ConfigFile), ConfigLoader.ToJson(config));
    }

    static void TryPlot(TrainConfig config)
    {
        try { LossPlot.Write(Path.Combine(config.Output, RunFolder.MetricsFile), Path.Combine(config.Output, RunFolder.PlotFile), $"{config.Objective} on {Path.GetFileName(Path.GetFullPath(config.Data))}"); }
        catch (Exception e) when (e is not OutOfMemoryException) { Console.Error.WriteLine($"sedd-train: warning: loss plot not written: {TerminalText.Neutralise(e.Message, keepNewlines: false)}"); }
    }

    /// <summary>EMA shadows plus the network's buffers, keyed like the state_dict.</summary>
    internal static IEnumerable<(string, Tensor)> EmaStateDict(nn.Module network, Ema ema)
    {
        var shadows = ema.State().ToDictionary(p => p.Name, p => p.Value);
        foreach (var (name, value) in network.state_dict())
            yield return (name, shadows.TryGetValue(name, out var s) ? s : value);
    }

    static Dictionary<string, Tensor> Prefixed(Dictionary<string, Tensor> d, string prefix) =>
        d.Where(p => p.Key.StartsWith(prefix, StringComparison.Ordinal)).ToDictionary(p => p.Key, p => p.Value);

}
