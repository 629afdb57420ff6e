using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Sedd.Trainer.Training;

/// <summary>
/// AdamW with PyTorch's update rule (spec §7): m ← β1 m + (1−β1) g, v ← β2 v + (1−β2) g²,
/// θ ← θ(1 − lr·wd) − lr/(1−β1^k) · m / (√v/√(1−β2^k) + ε). Written out (not TorchSharp's
/// optimizer) so that its whole state is a pair of named tensors per parameter that a checkpoint
/// stores and restores bit for bit.
/// </summary>
public sealed class AdamW : IDisposable
{
    readonly (string Name, Parameter Param, Tensor M, Tensor V)[] slots;
    readonly OptimConfig config;

    /// <summary>Optimiser steps taken so far (k of the bias corrections).</summary>
    public long Step { get; private set; }

    /// <param name="parameters">Named trainable parameters.</param>
    /// <param name="config">Hyper-parameters.</param>
    public AdamW(IEnumerable<(string Name, Parameter Param)> parameters, OptimConfig config)
    {
        this.config = config;
        slots = [.. parameters.Select(p => (p.Name, p.Param, zeros_like(p.Param).DetachFromDisposeScope(), zeros_like(p.Param).DetachFromDisposeScope()))];
    }

    /// <summary>
    /// Learning rate of optimiser step k (1-based): lr·min(k/warmup, 1) during the warm-up; after it lr
    /// ("constant") or lr·(r + (1 − r)·(1 + cos πp)/2) with p = (k − warmup)/(last − warmup) and
    /// r = min_lr_ratio ("cosine"), which reaches lr·r at the last step and stays there.
    /// </summary>
    /// <param name="config">Hyper-parameters.</param>
    /// <param name="step">k ≥ 1, counted from the run's start (or from the package it was initialised from).</param>
    /// <param name="lastStep">The run's last step, counted the same way.</param>
    public static double LearningRate(OptimConfig config, long step, long lastStep)
    {
        if (config.Warmup > 0 && step < config.Warmup) return config.Lr * step / config.Warmup;
        if (config.Schedule != "cosine") return config.Lr;
        double p = lastStep <= config.Warmup ? 1 : Math.Clamp((double)(step - config.Warmup) / (lastStep - config.Warmup), 0, 1);
        double r = config.MinLrRatio;
        return config.Lr * (r + (1 - r) * 0.5 * (1 + Math.Cos(Math.PI * p)));
    }

    /// <summary>
    /// Global L2 norm of all gradients; every gradient is then multiplied by min(1, max/(n + 1e-6))
    /// (PyTorch clip_grad_norm_). Returns the norm before clipping (may be non-finite).
    /// </summary>
    /// <param name="maxNorm">Limit.</param>
    public double ClipGradients(double maxNorm)
    {
        using var scope = NewDisposeScope();
        var grads = slots.Where(s => s.Param.grad is not null).Select(s => s.Param.grad!).ToArray();
        if (grads.Length == 0) return 0;
        var total = stack(grads.Select(g => g.detach().to(ScalarType.Float64).pow(2).sum()).ToArray()).sum().sqrt();
        double norm = total.item<double>();
        double coef = Math.Min(1.0, maxNorm / (norm + 1e-6));
        if (coef < 1.0 && double.IsFinite(coef))
            using (no_grad())
                foreach (var g in grads) g.mul_(coef);
        return norm;
    }

    /// <summary>One update with learning rate <paramref name="lr"/>; increments <see cref="Step"/>.</summary>
    /// <param name="lr">Learning rate for this step.</param>
    public void Update(double lr)
    {
        Step++;
        double b1 = config.Beta1, b2 = config.Beta2;
        double stepSize = lr / (1 - Math.Pow(b1, Step));
        double c2 = Math.Sqrt(1 - Math.Pow(b2, Step));
        using var scope = NewDisposeScope();
        using var _ = no_grad();
        foreach (var (_, p, m, v) in slots)
        {
            if (p.grad is null) continue;
            var g = p.grad;
            if (config.WeightDecay != 0) p.mul_(1 - lr * config.WeightDecay);
            m.mul_(b1).add_(g, alpha: 1 - b1);
            v.mul_(b2).addcmul_(g, g, value: 1 - b2);
            var denom = v.sqrt().div_(c2).add_(config.Eps);
            p.addcdiv_(m, denom, value: -stepSize);
        }
    }

    /// <summary>Clears every gradient.</summary>
    public void ZeroGrad()
    {
        foreach (var s in slots) s.Param.grad?.zero_();
    }

    /// <summary>State for a checkpoint: exp_avg.NAME and exp_avg_sq.NAME (plus the step count).</summary>
    public IEnumerable<(string Name, Tensor Value)> State()
    {
        foreach (var (name, _, m, v) in slots)
        {
            yield return ("exp_avg." + name, m);
            yield return ("exp_avg_sq." + name, v);
        }
    }

    /// <summary>Restores the state written by <see cref="State"/>.</summary>
    /// <param name="state">Name → tensor.</param>
    /// <param name="step">Steps taken.</param>
    public void Load(IReadOnlyDictionary<string, Tensor> state, long step)
    {
        using var _ = no_grad();
        foreach (var (name, _, m, v) in slots)
        {
            m.copy_(state["exp_avg." + name]);
            v.copy_(state["exp_avg_sq." + name]);
        }
        Step = step;
    }

    /// <inheritdoc />
    public void Dispose()
    {
        foreach (var s in slots) { s.M.Dispose(); s.V.Dispose(); }
    }
}
