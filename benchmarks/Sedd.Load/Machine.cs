using System.Globalization;

namespace Sedd.Load;

/// <summary>The machine a load run measured: CPU model, SIMD width, cores, memory, load.</summary>
sealed record Machine(string Cpu, bool Avx512, bool Avx2, int Cores, double RamGb, double LoadAverage)
{
    public static Machine Collect()
    {
        string cpu = "unknown", flags = "";
        double ram = 0;
        try
        {
            var info = File.ReadAllLines("/proc/cpuinfo");
            cpu = Field(info, "model name") ?? cpu;
            flags = " " + (Field(info, "flags") ?? "") + " ";
            var mem = File.ReadLines("/proc/meminfo").FirstOrDefault(l => l.StartsWith("MemTotal:", StringComparison.Ordinal));
            if (mem != null) ram = double.Parse(mem.Split(' ', StringSplitOptions.RemoveEmptyEntries)[1], CultureInfo.InvariantCulture) / (1 << 20);
        }
        catch (IOException) { }
        return new Machine(cpu, flags.Contains(" avx512f ", StringComparison.Ordinal), flags.Contains(" avx2 ", StringComparison.Ordinal),
            Environment.ProcessorCount, ram, LoadNow());
    }

    /// <summary>The 1-minute load average now (NaN where /proc/loadavg is missing).</summary>
    public static double LoadNow()
    {
        try
        {
            return double.Parse(File.ReadAllText("/proc/loadavg").Split(' ')[0], CultureInfo.InvariantCulture);
        }
        catch (IOException)
        {
            return double.NaN;
        }
    }

    public string Simd => Avx512 ? "AVX-512" : Avx2 ? "AVX2, no AVX-512" : "no AVX2";

    public string Describe() => string.Create(CultureInfo.InvariantCulture, $"{Cpu} · {Simd} · {Cores} cores · {RamGb:F0} GB RAM");

    static string? Field(string[] lines, string name)
    {
        var line = lines.FirstOrDefault(l => l.StartsWith(name, StringComparison.Ordinal));
        return line?[(line.IndexOf(':', StringComparison.Ordinal) + 1)..].Trim();
    }
}
