using System.Diagnostics;
using System.Globalization;
using System.Runtime.InteropServices;

namespace Sedd.Evidence;

/// <summary>Where and when the evidence was measured: printed in every report header.</summary>
/// <param name="DateUtc">Start of the run, UTC, ISO 8601.</param>
/// <param name="Cpu">CPU model (/proc/cpuinfo "model name"), or the architecture elsewhere.</param>
/// <param name="Cores">Logical processors visible to the process.</param>
/// <param name="RamGb">Installed memory in GB (/proc/meminfo MemTotal).</param>
/// <param name="Os">Operating system description.</param>
/// <param name="Commit">git commit of the repository (short hash, "+dirty" with local changes).</param>
/// <param name="Threads">Threads given to libtorch and ONNX Runtime.</param>
/// <param name="LoadAverage">1-minute load average at the start (/proc/loadavg): above the core count, other jobs compete for the CPU and timings suffer.</param>
/// <param name="Simd">The SIMD width the host code (TensorPrimitives, the sampler's rows) runs with, and why when it is below the CPU's.</param>
sealed record MachineInfo(string DateUtc, string Cpu, int Cores, double RamGb, string Os, string Commit, int Threads, double LoadAverage, string Simd)
{
    /// <summary>Collects the facts of this machine now.</summary>
    /// <param name="root">Repository root (for git).</param>
    /// <param name="threads">Threads used by the run.</param>
    public static MachineInfo Collect(string root, int threads) => new(
        DateTime.UtcNow.ToString("yyyy-MM-dd HH:mm 'UTC'", CultureInfo.InvariantCulture),
        CpuModel(), Environment.ProcessorCount, MemoryGb(), RuntimeInformation.OSDescription, GitCommit(root), threads, ReadLoadAverage(),
        Sedd.Compare.Machine.HostSimd());

    /// <summary>One line for headers: "2026-11-26 12:00 UTC · AMD EPYC … · 2 cores · 24 GB · Debian … · commit abc1234".</summary>
    public string Describe() => string.Create(CultureInfo.InvariantCulture,
        $"{DateUtc} · {Cpu} · {Cores} cores ({Threads} threads used; load average {LoadAverage:F1} at the start) · {RamGb:F0} GB RAM · {Os} · host SIMD {Simd.Split(';')[0]} · commit {Commit}");

    static double ReadLoadAverage()
    {
        try
        {
            var first = File.Exists("/proc/loadavg") ? File.ReadAllText("/proc/loadavg").Split(' ')[0] : null;
            return double.TryParse(first, NumberStyles.Float, CultureInfo.InvariantCulture, out double v) ? v : double.NaN;
        }
        catch (IOException)
        {
            return double.NaN;
        }
    }

    static string CpuModel()
    {
        try
        {
            if (File.Exists("/proc/cpuinfo"))
            {
                var line = File.ReadLines("/proc/cpuinfo").FirstOrDefault(l => l.StartsWith("model name", StringComparison.Ordinal));
                if (line is not null) return line[(line.IndexOf(':', StringComparison.Ordinal) + 1)..].Trim();
            }
        }
        catch (IOException) { }
        return RuntimeInformation.ProcessArchitecture.ToString();
    }

    static double MemoryGb()
    {
        try
        {
            if (File.Exists("/proc/meminfo"))
            {
                var line = File.ReadLines("/proc/meminfo").FirstOrDefault(l => l.StartsWith("MemTotal:", StringComparison.Ordinal));
                var parts = line?.Split(' ', StringSplitOptions.RemoveEmptyEntries);
                if (parts is { Length: >= 2 } && double.TryParse(parts[1], NumberStyles.Float, CultureInfo.InvariantCulture, out double kb))
                    return kb / (1024 * 1024);
            }
        }
        catch (IOException) { }
        return GC.GetGCMemoryInfo().TotalAvailableMemoryBytes / (1024.0 * 1024 * 1024);
    }

    static string GitCommit(string root)
    {
        var hash = Git(root, "rev-parse --short HEAD");
        if (hash is null) return "unknown (no git)";
        // Evidence files themselves are rewritten by this run, so only changes elsewhere count as dirty.
        var status = Git(root, "status --porcelain --untracked-files=no -- . :(exclude)docs/results :(exclude)README.md");
        return string.IsNullOrWhiteSpace(status) ? hash : hash + "+dirty";
    }

    static string? Git(string root, string arguments)
    {
        try
        {
            var start = new ProcessStartInfo("git", arguments) { WorkingDirectory = root, RedirectStandardOutput = true, RedirectStandardError = true };
            using var p = Process.Start(start);
            if (p is null) return null;
            var output = p.StandardOutput.ReadToEnd();
            p.WaitForExit();
            return p.ExitCode == 0 ? output.Trim() : null;
        }
        catch (System.ComponentModel.Win32Exception)
        {
            return null;
        }
    }
}
