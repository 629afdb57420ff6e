using Sedd.Runtime.Noise;
using Sedd.Tests;

namespace Sedd.Runtime.Tests;

/// <summary>noise.json (spec §2): every case, float64 tolerance.</summary>
public class NoiseScheduleTest
{
    public static TheoryData<string> Cases => Goldens.CaseNames("noise.json");

    [Theory]
    [MemberData(nameof(Cases))]
    public void NoiseScheduleTest_Golden(string name)
    {
        var c = Goldens.Case("noise.json", name);
        var p = c["params"]!.AsObject();
        var function = (string)c["function"]!;
        NoiseSchedule noise;
        if (name.StartsWith("get_noise", StringComparison.Ordinal))
        {
            // The factory ignores every config number for the log-linear schedule.
            var cfg = p["config_noise"]!;
            noise = NoiseSchedule.Create((string)cfg["type"]!, cfg["sigma_min"]!.GetValue<double>(), cfg["sigma_max"]!.GetValue<double>());
            Assert.Equal(p["effective_eps"]!.GetValue<double>(), ((LogLinearNoise)noise).Eps);
        }
        else if (function.StartsWith("GeometricNoise", StringComparison.Ordinal))
            noise = new GeometricNoise(p["sigma_min"]!.GetValue<double>(), p["sigma_max"]!.GetValue<double>());
        else if (function.StartsWith("LogLinearNoise", StringComparison.Ordinal))
            noise = new LogLinearNoise(p["eps"]!.GetValue<double>());
        else
            throw new Xunit.Sdk.XunitException($"noise.json case {name}: unknown function {function}");

        var t = Goldens.Doubles(c["inputs"]!["t"]!);
        var e = c["expected"]!;
        Goldens.AssertClose(name, "total_noise", e["total_noise"]!, t.Select(noise.TotalNoise).ToArray(), Tolerance.Float64);
        Goldens.AssertClose(name, "rate_noise", e["rate_noise"]!, t.Select(noise.RateNoise).ToArray(), Tolerance.Float64);
    }
}
