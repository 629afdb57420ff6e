using System.Runtime.InteropServices;

namespace Sedd.Cli;

/// <summary>
/// glibc's allocator raises its mmap threshold after a large block is freed, so later large blocks
/// (libtorch's activations: tens of MB each at a 50k vocabulary) come from the heap and stay resident
/// after they are freed. A fixed 1 MiB threshold keeps every large block a mapping of its own that goes
/// back to the system when freed, which holds an export's peak memory near its weights. A server whose
/// batches run on ever new threads also gets a cap on glibc's per-thread arenas, each of which keeps
/// the memory freed into it.
/// </summary>
static class NativeHeap
{
    const int MmapThreshold = -3;   // M_MMAP_THRESHOLD in malloc.h
    const int ArenaMax = -8;        // M_ARENA_MAX

    [DllImport("libc", EntryPoint = "mallopt")]
    static extern int MallOpt(int parameter, int value);

    /// <summary>Fixes the threshold on Linux with glibc; elsewhere (or with another libc) does nothing.</summary>
    public static void ReturnLargeBlocks() => Set(MmapThreshold, 1 << 20);

    /// <summary>Caps glibc's malloc arenas at <paramref name="arenas"/> (Linux with glibc; elsewhere nothing).</summary>
    /// <param name="arenas">Most arenas; threads beyond share them.</param>
    public static void LimitArenas(int arenas) => Set(ArenaMax, arenas);

    static void Set(int parameter, int value)
    {
        if (!OperatingSystem.IsLinux()) return;
        try { MallOpt(parameter, value); }
        catch (Exception e) when (e is DllNotFoundException or EntryPointNotFoundException) { }
    }
}
