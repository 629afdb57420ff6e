using System.Text.Json.Nodes;
using Sedd.Tests;
using Sedd.Trainer.Training;
using TorchSharp;
using Parameter = TorchSharp.Modules.Parameter;
using static TorchSharp.torch;

namespace Sedd.Trainer.Tests.Training;

/// <summary>train_step.json (spec §7): warm-up, EMA decay, and AdamW + clipping + EMA, every case.</summary>
public class TrainStepTest
{
    const string File = "train_step.json";

    public static TheoryData<string> Cases => Goldens.CaseNames(File);

    [Theory]
    [MemberData(nameof(Cases))]
    public void TrainStepTest_Golden(string name)
    {
        var c = Goldens.Case(File, name);
        switch ((string)c["function"]!)
        {
            case var f when f.Contains("warmup", StringComparison.Ordinal) && c["inputs"]!["step"] != null: Warmup(name, c); break;
            case var f when f.StartsWith("ExponentialMovingAverage", StringComparison.Ordinal): EmaDecay(name, c); break;
            case var f when f.StartsWith("optimize_fn", StringComparison.Ordinal): AdamWClipEma(name, c); break;
            default: throw new Xunit.Sdk.XunitException($"{File} case {name}: unknown function {c["function"]}");
        }
    }

    static void Warmup(string name, JsonObject c)
    {
        var p = c["params"]!;
        var optim = new OptimConfig { Lr = p["lr"]!.GetValue<double>(), Warmup = p["warmup"]!.GetValue<int>() };
        var lr = Goldens.Longs(c["inputs"]!["step"]!).Select(k => AdamW.LearningRate(optim, k, lastStep: long.MaxValue)).ToArray();
        Goldens.AssertClose(name, "lr", c["expected"]!["lr"]!, lr, Tolerance.Float64);
    }

    static void EmaDecay(string name, JsonObject c)
    {
        double decay = c["params"]!["decay"]!.GetValue<double>();
        var values = Goldens.Doubles(c["inputs"]!["param_values"]!);
        var p = new Parameter(tensor(new[] { c["inputs"]!["initial_shadow"]!.GetValue<double>() }, ScalarType.Float64));
        using var ema = new Ema([("p", p)], decay);
        var used = new double[values.Length];
        var shadows = new double[values.Length];
        for (int n = 0; n < values.Length; n++)
        {
            using (no_grad()) p.fill_(values[n]);
            ema.Update();
            used[n] = Ema.DecayAt(decay, ema.Updates);
            shadows[n] = ema.State().Single().Value.item<double>();
        }
        Goldens.AssertClose(name, "decay_used", c["expected"]!["decay_used"]!, used, Tolerance.Float64);
        Goldens.AssertClose(name, "shadow_after_each", c["expected"]!["shadow_after_each"]!, shadows, Tolerance.Float64);
    }

    static void AdamWClipEma(string name, JsonObject c)
    {
        var p = c["params"]!;
        var betas = Goldens.Doubles(p["betas"]!);
        var optim = new OptimConfig
        {
            Lr = p["lr"]!.GetValue<double>(), Beta1 = betas[0], Beta2 = betas[1], Eps = p["eps"]!.GetValue<double>(),
            WeightDecay = p["weight_decay"]!.GetValue<double>(), Warmup = p["warmup"]!.GetValue<int>(), GradClip = p["grad_clip"]!.GetValue<double>(),
        };
        var parameters = c["inputs"]!["initial_params"]!.AsArray()
            .Select((t, i) => ($"p{i}", new Parameter(ToTensor(t!)))).ToArray();
        using var adam = new AdamW(parameters, optim);
        using var ema = new Ema(parameters, p["ema"]!.GetValue<double>());
        foreach (var stepNode in c["expected"]!["steps"]!.AsArray())
        {
            var step = stepNode!.AsObject();
            var where = $"{name}.step{step["step"]}";
            var grads = step["grads"]!.AsArray();
            for (int i = 0; i < parameters.Length; i++) parameters[i].Item2.grad = ToTensor(grads[i]!);
            double norm = adam.ClipGradients(optim.GradClip);
            double lr = AdamW.LearningRate(optim, adam.Step + 1, lastStep: long.MaxValue);
            adam.Update(lr);
            ema.Update();
            Goldens.AssertClose(where, "grad_norm_before_clip", [step["grad_norm_before_clip"]!.GetValue<double>()], [norm], Tolerance.Float64);
            Goldens.AssertClose(where, "lr", [step["lr"]!.GetValue<double>()], [lr], Tolerance.Float64);
            var shadows = ema.State().ToArray();
            for (int i = 0; i < parameters.Length; i++)
            {
                Goldens.AssertClose(where, $"params_after[{i}]", step["params_after"]![i]!, parameters[i].Item2.data<double>().ToArray(), Tolerance.Float64);
                Goldens.AssertClose(where, $"ema_after[{i}]", step["ema_after"]![i]!, shadows[i].Value.data<double>().ToArray(), Tolerance.Float64);
            }
        }
    }

    static Tensor ToTensor(JsonNode node)
    {
        var (data, shape) = Goldens.Tensor(node);
        return tensor(data, [.. shape.Select(d => (long)d)], ScalarType.Float64);
    }
}
