using Sedd.Trainer.Model;

namespace Sedd.Trainer.Training;

/// <summary>
/// Everything a training run needs, resolved from a JSON file plus command-line overrides and
/// written beside every checkpoint. Defaults are the reference's (spec §7) except the sizes,
/// which fit a CPU.
/// </summary>
public sealed record TrainConfig
{
    /// <summary>"sedd" (score entropy, the product) or "ar" (the autoregressive baseline).</summary>
    public string Objective { get; init; } = "sedd";

    /// <summary>Prepared data folder (from <c>sedd-train prepare</c>).</summary>
    public string Data { get; init; } = "data/brown";

    /// <summary>Run folder: checkpoints, metrics, plots.</summary>
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
    /// <summary>"absorb" or "uniform".</summary>
    public string Type { get; init; } = "absorb";
}

/// <summary>Noise block. The log-linear schedule ignores sigma_min/sigma_max (ε = 1e-3), as the reference does.</summary>
public sealed record NoiseConfig
{
    /// <summary>"loglinear" or "geometric".</summary>
    public string Type { get; init; } = "loglinear";

    /// <summary>Geometric σ_min.</summary>
    public double SigmaMin { get; init; } = 1e-4;

    /// <summary>Geometric σ_max.</summary>
    public double SigmaMax { get; init; } = 20;
}

/// <summary>AdamW with linear warm-up and global-norm clipping (spec §7).</summary>
public sealed record OptimConfig
{
    /// <summary>Peak learning rate.</summary>
    public double Lr { get; init; } = 3e-4;

    /// <summary>β1.</summary>
    public double Beta1 { get; init; } = 0.9;

    /// <summary>β2.</summary>
    public double Beta2 { get; init; } = 0.999;

    /// <summary>ε.</summary>
    public double Eps { get; init; } = 1e-8;

    /// <summary>Decoupled weight decay (reference: 0).</summary>
    public double WeightDecay { get; init; }

    /// <summary>Warm-up steps: lr_k = lr·min(k/warmup, 1).</summary>
    public int Warmup { get; init; } = 2500;

    /// <summary>Global gradient-norm limit.</summary>
    public double GradClip { get; init; } = 1.0;
}

/// <summary>Loop, precision, checkpointing and logging.</summary>
public sealed record LoopConfig
{
    /// <summary>Sequences per optimiser step.</summary>
    public int BatchSize { get; init; } = 32;

    /// <summary>Gradient-accumulation micro-batches per step (batch_size must divide evenly).</summary>
    public int Accum { get; init; } = 1;

    /// <summary>Optimiser steps to run in total.</summary>
    public int Steps { get; init; } = 10000;

    /// <summary>Stop after this many seconds of training (0 = no limit); a checkpoint is written.</summary>
    public double MaxSeconds { get; init; }

    /// <summary>EMA rate (0.9999 in the reference).</summary>
    public double Ema { get; init; } = 0.9999;

    /// <summary>Seed of every random stream in the run.</summary>
    public long Seed { get; init; } = 42;

    /// <summary>"fp32" or "bf16" (bf16 matmuls; LayerNorm, softmax and the loss stay fp32).</summary>
    public string Precision { get; init; } = "fp32";

    /// <summary>"auto" (CUDA when available), "cpu" or "cuda".</summary>
    public string Device { get; init; } = "auto";

    /// <summary>CPU threads for libtorch (0 = all cores).</summary>
    public int Threads { get; init; }

    /// <summary>Log a metrics line every this many steps.</summary>
    public int LogEvery { get; init; } = 10;

    /// <summary>Evaluate the validation loss (EMA weights, eval mode) every this many steps (0 = never).</summary>
    public int EvalEvery { get; init; } = 500;

    /// <summary>Validation blocks used by the periodic evaluation.</summary>
    public int EvalBatches { get; init; } = 8;

    /// <summary>Write a checkpoint every this many steps.</summary>
    public int CheckpointEvery { get; init; } = 500;

    /// <summary>Checkpoints kept (oldest removed first; the best-validation one is kept too).</summary>
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
