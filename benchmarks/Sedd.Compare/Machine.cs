using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;

namespace Sedd.Compare;

/// <summary>What a report says about the machine, so that a result can be read with its context.</summary>
public static class Machine
{
    /// <summary>The 1, 5 and 15 minute load averages from /proc/loadavg, or "n/a" off Linux.</summary>
    public static string LoadAverage()
    {
        try
        {
            var parts = File.ReadAllText("/proc/loadavg").Split(' ');
            return parts.Length >= 3 ? $"{parts[0]} {parts[1]} {parts[2]}" : "n/a";
        }
        catch (IOException) { return "n/a"; }
        catch (UnauthorizedAccessException) { return "n/a"; }
    }

    /// <summary>CPU model name (Linux /proc/cpuinfo), logical cores and OS.</summary>
    public static string Describe()
    {
        string cpu = RuntimeInformation.ProcessArchitecture.ToString();
        var line = CpuInfoLine("model name");
        if (line != null) cpu = line;
        return $"{cpu}, {Environment.ProcessorCount} logical cores, {RuntimeInformation.OSDescription}, {RuntimeInformation.FrameworkDescription}";
    }

    /// <summary>The widest vector the .NET JIT accelerates here: what TensorPrimitives and the sampler's rows run with.</summary>
    public static string SimdWidth() =>
        Vector512.IsHardwareAccelerated ? "Vector512 (AVX-512)"
        : Vector256.IsHardwareAccelerated ? "Vector256 (AVX2)"
        : Vector128.IsHardwareAccelerated ? "Vector128"
        : "scalar";

    /// <summary>
    /// The host sampling's SIMD width, and why when .NET uses less than the CPU has: on an AVX-512 CPU run
    /// with <c>DOTNET_EnableAVX512=0</c> the JIT reports Vector512 as not accelerated, so the host code takes
    /// its Vector256 paths as on an AVX2-only machine, while ONNX Runtime (native code that picks its
    /// kernels from the CPU itself) still uses AVX-512.
    /// </summary>
    public static string HostSimd() => HostSimd(SimdWidth(), CpuHasAvx512(), Environment.GetEnvironmentVariable("DOTNET_EnableAVX512F"),
        Vector512.IsHardwareAccelerated);

    /// <summary>The sentence of <see cref="HostSimd()"/> for given facts (testable without another CPU).</summary>
    /// <param name="width">What <see cref="SimdWidth"/> says.</param>
    /// <param name="cpuAvx512">Whether the CPU reports avx512f.</param>
    /// <param name="oldVariable">The value of DOTNET_EnableAVX512F, which .NET 10 no longer reads.</param>
    /// <param name="vector512">Whether Vector512 is accelerated.</param>
    internal static string HostSimd(string width, bool cpuAvx512, string? oldVariable, bool vector512)
    {
        if (!vector512 && cpuAvx512)
            return width + "; the CPU has AVX-512 but .NET does not use it (DOTNET_EnableAVX512=0), so the host sampling runs the AVX2 path of an AVX2-only machine; ONNX Runtime still uses AVX-512";
        if (vector512 && oldVariable == "0")
            return width + "; note: DOTNET_EnableAVX512F=0 is not read by .NET 10, set DOTNET_EnableAVX512=0 to measure the AVX2 path";
        return width;
    }

    /// <summary>Whether /proc/cpuinfo lists the avx512f flag.</summary>
    public static bool CpuHasAvx512()
    {
        var flags = CpuInfoLine("flags");
        return flags != null && flags.Split(' ').Contains("avx512f");
    }

    static string? CpuInfoLine(string key)
    {
        try
        {
            if (!File.Exists("/proc/cpuinfo")) return null;
            var line = File.ReadLines("/proc/cpuinfo").FirstOrDefault(l => l.StartsWith(key, StringComparison.Ordinal));
            return line is null ? null : line[(line.IndexOf(':', StringComparison.Ordinal) + 1)..].Trim();
        }
        catch (IOException) { return null; }
        catch (UnauthorizedAccessException) { return null; }
    }
}
