using System.Runtime.InteropServices;

namespace Sedd.Exporter;

/// <summary>
/// glibc's allocator raises its mmap threshold after a large block is freed, so later large blocks
/// (libtorch's activations: tens of MB each at a 50k vocabulary) come from the heap and stay resident
/// after they are freed. A fixed 1 MiB threshold keeps every large block a mapping of its own that goes
/// back to the system when freed, which holds an export's peak memory near its weights.
/// </summary>
static class NativeHeap
{
    const int MmapThreshold = -3;   // M_MMAP_THRESHOLD in malloc.h

    [DllImport("libc", EntryPoint = "mallopt")]
    static extern int MallOpt(int parameter, int value);

    /// <summary>Fixes the threshold on Linux with glibc; elsewhere (or with another libc) does nothing.</summary>
    public static void ReturnLargeBlocks()
    {
        if (!OperatingSystem.IsLinux()) return;
        try { MallOpt(MmapThreshold, 1 << 20); }
        catch (Exception e) when (e is DllNotFoundException or EntryPointNotFoundException) { }
    }
}
