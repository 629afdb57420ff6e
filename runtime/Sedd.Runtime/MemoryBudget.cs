using System.Globalization;

namespace Sedd.Runtime;

/// <summary>
/// Memory checks made before large allocations, so that a request that cannot fit is refused in one
/// line (how much is needed, how much is available) instead of ending in the kernel's OOM killer.
/// </summary>
public static class MemoryBudget
{
    /// <summary>
    /// Bytes this process may still allocate: the smaller of the kernel's MemAvailable (Linux) and the
    /// runtime's limit (container or job limits, <see cref="GC.GetGCMemoryInfo()"/>), minus what the GC
    /// heap already holds.
    /// </summary>
    public static long Available()
    {
        var info = GC.GetGCMemoryInfo();
        long limit = info.TotalAvailableMemoryBytes - GC.GetTotalMemory(false);
        long avail = MemAvailable();
        return Math.Max(0, avail > 0 ? Math.Min(avail, limit) : limit);
    }

    /// <summary>Throws unless <paramref name="bytes"/> fit in <see cref="Available"/> with a safety margin.</summary>
    /// <param name="bytes">Estimated need.</param>
    /// <param name="what">What needs it, e.g. "sampling a batch of 4000 × 128 tokens".</param>
    /// <param name="hint">What the user can do, e.g. "use a smaller --batch".</param>
    /// <param name="exitCode">1 when an option asked for it, 2 when a file did.</param>
    public static void Require(long bytes, string what, string hint, int exitCode = SeddException.Usage)
    {
        if (bytes < 0) bytes = long.MaxValue;
        // Keep a margin for the runtime, ONNX Runtime's arena and the OS.
        if (Fits(bytes)) return;
        long available = Available();
        throw new SeddException($"{what} needs about {Format(bytes)} of memory but about {Format(available)} is available; {hint}", exitCode);
    }

    /// <summary>Whether <paramref name="bytes"/> fit in <see cref="Available"/> with the margin <see cref="Require"/> keeps (for optional buffers that speed work up).</summary>
    /// <param name="bytes">Estimated need.</param>
    public static bool Fits(long bytes)
    {
        long available = Available();
        return bytes >= 0 && bytes <= available - available / 10;
    }

    /// <summary>Bytes as "1.5 GB", "300 MB", "12 KB".</summary>
    /// <param name="bytes">A byte count.</param>
    public static string Format(long bytes)
    {
        var c = CultureInfo.InvariantCulture;
        if (bytes == long.MaxValue) return "more than 9 EB";
        if (bytes >= 1L << 30) return (bytes / (double)(1L << 30)).ToString(bytes >= 10L << 30 ? "F0" : "F1", c) + " GB";
        if (bytes >= 1L << 20) return (bytes / (double)(1L << 20)).ToString("F0", c) + " MB";
        return Math.Max(1, bytes / 1024).ToString(c) + " KB";
    }

    /// <summary>a × b × ... in bytes, saturating at <see cref="long.MaxValue"/> instead of overflowing.</summary>
    /// <param name="factors">Non-negative factors.</param>
    public static long Product(params ReadOnlySpan<long> factors)
    {
        long p = 1;
        foreach (long f in factors)
        {
            if (f < 0) return long.MaxValue;
            if (f != 0 && p > long.MaxValue / f) return long.MaxValue;
            p *= f;
        }
        return p;
    }

    static long MemAvailable()
    {
        if (!OperatingSystem.IsLinux()) return 0;
        try
        {
            foreach (var line in File.ReadLines("/proc/meminfo"))
            {
                if (!line.StartsWith("MemAvailable:", StringComparison.Ordinal)) continue;
                var parts = line.Split(' ', StringSplitOptions.RemoveEmptyEntries);
                return long.Parse(parts[1], CultureInfo.InvariantCulture) * 1024;
            }
        }
        catch (Exception e) when (e is IOException or FormatException or UnauthorizedAccessException) { }
        return 0;
    }
}
