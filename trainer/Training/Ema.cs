using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Sedd.Trainer.Training;

/// <summary>
/// Exponential moving average of the parameters (SEDD model/ema.py; spec §7):
/// after the n-th update, shadow ← shadow − (1 − d_n)(shadow − θ) with d_n = min(decay, (1+n)/(10+n)).
/// The shadow starts as a copy of the parameters. EMA weights are what evaluation, sampling and export use.
/// </summary>
public sealed class Ema : IDisposable
{
    readonly (string Name, Parameter Param, Tensor Shadow)[] slots;

    /// <summary>Target decay (0.9999 in the reference).</summary>
    public double Decay { get; }

    /// <summary>Updates applied so far.</summary>
    public long Updates { get; private set; }

    /// <param name="parameters">Named trainable parameters.</param>
    /// <param name="decay">Target decay.</param>
    public Ema(IEnumerable<(string Name, Parameter Param)> parameters, double decay)
    {
        Decay = decay;
        using (no_grad())
            slots = [.. parameters.Select(p => (p.Name, p.Param, p.Param.detach().clone().DetachFromDisposeScope()))];
    }

    /// <summary>The decay the n-th update uses (n ≥ 1).</summary>
    /// <param name="decay">Target decay.</param>
    /// <param name="n">Update number, counting this one.</param>
    public static double DecayAt(double decay, long n) => Math.Min(decay, (1.0 + n) / (10.0 + n));

    /// <summary>One EMA update from the current parameters.</summary>
    public void Update()
    {
        Updates++;
        double d = DecayAt(Decay, Updates);
        using var scope = NewDisposeScope();
        using var _ = no_grad();
        foreach (var (_, p, s) in slots) s.sub_((s - p).mul_(1 - d));
    }

    /// <summary>The shadow tensors by parameter name.</summary>
    public IEnumerable<(string Name, Tensor Value)> State() => slots.Select(s => (s.Name, s.Shadow));

    /// <summary>Restores shadows and the update count.</summary>
    /// <param name="state">Name → tensor.</param>
    /// <param name="updates">Updates applied.</param>
    public void Load(IReadOnlyDictionary<string, Tensor> state, long updates)
    {
        using var _ = no_grad();
        foreach (var (name, _, s) in slots) s.copy_(state[name]);
        Updates = updates;
    }

    /// <summary>Swaps shadow and live parameters (call again to swap back): evaluate with EMA weights.</summary>
    public void Swap()
    {
        using var scope = NewDisposeScope();
        using var _ = no_grad();
        foreach (var (_, p, s) in slots)
        {
            var tmp = p.detach().clone();
            p.copy_(s);
            s.copy_(tmp);
        }
    }

    /// <inheritdoc />
    public void Dispose()
    {
        foreach (var s in slots) s.Shadow.Dispose();
    }
}
