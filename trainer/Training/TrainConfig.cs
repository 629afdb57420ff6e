using Sedd.Trainer.Model;

namespace Sedd.Trainer.Training;

/// <summary>
/// Everything a training run needs, resolved from a JSON file plus command-line overrides and
/// written beside every checkpoint. Defaults are the reference's (spec §7) except the sizes,
/// which fit a CPU. The summaries of the properties are user documentation: <c>sedd-train config</c>
/// and docs/config.md print them, and every property needs a rule in <see cref="ConfigRules"/>.
/// </summary>
public sealed record TrainConfig
{
    /// <summary>"sedd" (score-entropy discrete diffusion) or "ar" (the autoregressive baseline of the same width and depth).</summary>
    public string Objective { get; init; } = "sedd";

    /// <summary>Prepared token folder (written by <c>sedd-train prepare</c>).</summary>
    public string Data { get; init; } = "data/brown";

    /// <summary>Run folder: config.json, metrics.jsonl, loss.png and checkpoints/ (also <c>-o</c>/<c>--output</c> of <c>sedd-train train</c>).</summary>
    public string Output { get; init; } = "runs/brown-absorb";

    /// <summary>Forward process (spec §3).</summary>
    public GraphConfig Graph { get; init; } = new();

    /// <summary>Noise schedule (spec §2).</summary>
    public NoiseConfig Noise { get; init; } = new();

    /// <summary>Network architecture (spec §5).</summary>
    public ModelConfig Model { get; init; } = new();

    /// <summary>Optimiser (spec §7).</summary>
    public OptimConfig Optim { get; init; } = new();

    /// <summary>Loop settings.</summary>
    public LoopConfig Training { get; init; } = new();
}

/// <summary>Graph block.</summary>
public sealed record GraphConfig
{
    /// <summary>Forward process: "absorb" (tokens turn into a mask token) or "uniform" (tokens turn into random tokens).</summary>
    public string Type { get; init; } = "absorb";
}

/// <summary>Noise block. The log-linear schedule ignores sigma_min/sigma_max (ε = 1e-3), as the reference does.</summary>
public sealed record NoiseConfig
{
    /// <summary>Noise schedule: "loglinear" (σ̄(t) = −ln(1 − (1 − 10⁻³)t), the reference's for absorb) or "geometric" (σ_min^(1−t) σ_max^t).</summary>
    public string Type { get; init; } = "loglinear";

    /// <summary>Smallest total noise σ_min of the geometric schedule (the log-linear one ignores it).</summary>
    public double SigmaMin { get; init; } = 1e-4;

    /// <summary>Largest total noise σ_max of the geometric schedule (the log-linear one ignores it).</summary>
    public double SigmaMax { get; init; } = 20;
}

/// <summary>AdamW with linear warm-up and global-norm clipping (spec §7).</summary>
public sealed record OptimConfig
{
    /// <summary>Peak learning rate of AdamW (reached after the warm-up).</summary>
    public double Lr { get; init; } = 3e-4;

    /// <summary>AdamW β1: decay of the running mean of gradients.</summary>
    public double Beta1 { get; init; } = 0.9;

    /// <summary>AdamW β2: decay of the running mean of squared gradients.</summary>
    public double Beta2 { get; init; } = 0.999;

    /// <summary>AdamW ε added to the root of the second moment.</summary>
    public double Eps { get; init; } = 1e-8;

    /// <summary>Decoupled weight decay of AdamW (the reference uses 0).</summary>
    public double WeightDecay { get; init; }

    /// <summary>Linear warm-up steps: the learning rate at step k is lr·min(k/warmup, 1).</summary>
    public int Warmup { get; init; } = 2500;

    /// <summary>Gradients are scaled down when their global norm exceeds this.</summary>
    public double GradClip { get; init; } = 1.0;

    /// <summary>Learning rate after the warm-up: "constant" (the reference's) or "cosine" (a half cosine from lr down to lr·min_lr_ratio at training.steps; a --resume that raises training.steps stretches what is left of it).</summary>
    public string Schedule { get; init; } = "constant";

    /// <summary>Where the cosine schedule ends, as a fraction of optim.lr (unused by "constant").</summary>
    public double MinLrRatio { get; init; } = 0.1;
}

/// <summary>Loop, precision, checkpointing and logging.</summary>
public sealed record LoopConfig
{
    /// <summary>Sequences (blocks of model.length tokens) per optimiser step.</summary>
    public int BatchSize { get; init; } = 32;

    /// <summary>Micro-batches per step (gradient accumulation; batch_size must be a multiple): less memory, same result.</summary>
    public int Accum { get; init; } = 1;

    /// <summary>Optimiser steps of the whole run (a resumed run goes on until this step).</summary>
    public int Steps { get; init; } = 10000;

    /// <summary>Stop after this many seconds of training in this process (0 = no limit); a checkpoint is written.</summary>
    public double MaxSeconds { get; init; }

    /// <summary>Decay of the exponential moving average of the weights that evaluation and export use (the reference uses 0.9999).</summary>
    public double Ema { get; init; } = 0.9999;

    /// <summary>Seed of every random stream of the run (initial weights, data order, noise, dropout; also <c>-s</c>/<c>--seed</c>).</summary>
    public long Seed { get; init; } = 42;

    /// <summary>"fp32" or "bf16" (bf16 matmuls; LayerNorm, softmax and the loss stay fp32). bf16 only pays on hardware with bf16 units.</summary>
    public string Precision { get; init; } = "fp32";

    /// <summary>"auto" (CUDA when available, else the CPU), "cpu" or "cuda".</summary>
    public string Device { get; init; } = "auto";

    /// <summary>CPU threads for libtorch (0 = one per core; also <c>-t</c>/<c>--threads</c>).</summary>
    public int Threads { get; init; }

    /// <summary>Write a metrics.jsonl line (the mean training loss of these steps) and a console line every this many steps.</summary>
    public int LogEvery { get; init; } = 10;

    /// <summary>Validation loss (EMA weights) every this many steps (0 = never); a new best writes a checkpoint.</summary>
    public int EvalEvery { get; init; } = 500;

    /// <summary>Micro-batches of the valid split that each periodic validation scores.</summary>
    public int EvalBatches { get; init; } = 8;

    /// <summary>Write a checkpoint every this many steps (and at the end, on Ctrl+C and at the time limit).</summary>
    public int CheckpointEvery { get; init; } = 500;

    /// <summary>Checkpoints kept (oldest removed first; the best-validation one is kept as well).</summary>
    public int KeepCheckpoints { get; init; } = 3;

    /// <summary>Stop the run after this many steps with a non-finite loss or gradient.</summary>
    public int MaxNonFinite { get; init; } = 10;

    /// <summary>
    /// How training steps draw t across a micro-batch of B sequences: "uniform" (default; SEDD's i.i.d.
    /// draws, bit for bit as before) or "stratified" (one u0 ~ U[0, 1) per micro-batch, u_b = frac(u0 + b/B),
    /// then t_b = (1 − 1e-3) u_b + 1e-3). Each t_b stays uniform, so the loss stays unbiased; stratified
    /// lowers its variance. Validation and <c>sedd-train eval</c> always draw i.i.d.
    /// </summary>
    public string TimeSampling { get; init; } = "uniform";

    /// <summary>
    /// Early stopping: stop after this many consecutive validations (every <c>eval_every</c> steps) without
    /// a new best validation loss, writing the final checkpoint; the best one is kept. Default 0 = off.
    /// </summary>
    public int Patience { get; init; }
}
