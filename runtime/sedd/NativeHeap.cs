using System.Runtime.InteropServices;
using System.Text;

namespace Sedd.Cli;

/// <summary>
/// glibc heap policies, one per kind of program; each program picks one first thing in Main.
/// <para>
/// <b>Bounded memory</b> (<c>sedd serve</c>, <c>sedd-export</c>): glibc's allocator raises its mmap
/// threshold after a large block is freed, so later large blocks (libtorch's activations: tens of MB each
/// at a 50k vocabulary) come from the heap and stay resident after they are freed. A fixed 1 MiB threshold
/// (<see cref="ReturnLargeBlocks"/>) keeps every large block a mapping of its own that goes back to the
/// system when freed, which holds an export's peak memory near its weights. A server whose batches run on
/// ever new threads also gets a cap on glibc's per-thread arenas (<see cref="LimitArenas"/>), each of which
/// keeps the memory freed into it.
/// </para>
/// <para>
/// <b>Speed</b> (<c>sedd-train</c>, <c>sedd-evidence</c>, <c>sedd-compare</c>; <see cref="UseMainHeap"/>):
/// the opposite. Training frees and reallocates the same large tensors every step; given back to the
/// kernel each time, they are faulted in again page by page. With glibc's defaults every tensor above
/// 32 MB (a batch of 128 × 128 tokens over the vocabulary is 256 MB) gets its own mapping: training the
/// default model spent half its CPU time in the kernel (about 90,000 page faults a second, 1,150–1,450
/// tokens/s on 2 cores). Kept in the main heap, the same run had 16 faults a second and 3,500 tokens/s.
/// The cost is that freed memory stays with the process until it exits. glibc reads these settings only
/// when a program starts, and its secondary arenas map large blocks whatever <c>mallopt</c> says, so the
/// program starts itself again, once and first thing, with GLIBC_TUNABLES set: the same process (execve
/// keeps the pid, the terminal and the arguments). A GLIBC_TUNABLES the user set is left alone (any value,
/// e.g. <c>glibc.malloc.check=0</c>, keeps glibc's defaults), and so is any system whose C library is not glibc.
/// </para>
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

    /// <summary>One arena (the main heap, grown with brk), no mappings for large blocks, no trimming of its top.</summary>
    public const string Tunables = "glibc.malloc.arena_max=1:glibc.malloc.mmap_max=0:glibc.malloc.trim_threshold=68719476736";

    const string Variable = "GLIBC_TUNABLES";
    /// <summary>Set together with the tunables, so the restarted process knows they are Sedd's (glibc may rewrite its own copy).</summary>
    const string Marker = "SEDD_NATIVE_HEAP";

    /// <summary>What <see cref="UseMainHeap"/> decided, for the reports.</summary>
    public static string InForce { get; private set; } = "the C library's default";

    /// <summary>
    /// Restarts the process with the main-heap settings if that applies and has not happened yet; returns
    /// only when no restart is needed or it failed (then glibc's defaults stay, which is slower, not wrong).
    /// Must run before anything else in Main: before libtorch loads and before output is written.
    /// </summary>
    public static void UseMainHeap()
    {
        switch (Decide(Environment.GetEnvironmentVariable(Variable), Environment.GetEnvironmentVariable(Marker), OperatingSystem.IsLinux() && IsGlibc()))
        {
            case Decision.AlreadySet: InForce = "glibc main heap only (set by Sedd)"; return;
            case Decision.UsersChoice: InForce = "GLIBC_TUNABLES from the environment"; return;
            case Decision.NotGlibc: return;
        }
        int error = Restart();
        InForce = $"glibc's default (restarting with GLIBC_TUNABLES failed, errno {error})";
    }

    /// <summary>What <see cref="UseMainHeap"/> does.</summary>
    public enum Decision
    {
        /// <summary>Start again with the tunables.</summary>
        Restart,
        /// <summary>This process is the restarted one.</summary>
        AlreadySet,
        /// <summary>The user set GLIBC_TUNABLES: keep it.</summary>
        UsersChoice,
        /// <summary>Not Linux with glibc: nothing to do.</summary>
        NotGlibc,
    }

    /// <summary>The decision from the environment alone, so it can be tested without a restart.</summary>
    public static Decision Decide(string? tunables, string? marker, bool glibc) =>
        !glibc ? Decision.NotGlibc
        : marker == "main" ? Decision.AlreadySet
        : !string.IsNullOrEmpty(tunables) ? Decision.UsersChoice
        : Decision.Restart;

    /// <summary>
    /// execve("/proc/self/exe") with the exact bytes of this process's arguments and environment plus the
    /// two variables. Returns errno if execve returned (it does not on success).
    /// </summary>
    static int Restart()
    {
        byte[] args, env;
        try
        {
            args = File.ReadAllBytes("/proc/self/cmdline");
            env = File.ReadAllBytes("/proc/self/environ");
        }
        catch (IOException) { return -1; }
        catch (UnauthorizedAccessException) { return -1; }

        var argv = Split(args);
        // Without any earlier entry of the two names (even empty ones): the first entry of a name is the one
        // getenv sees, and a stale empty marker would make the restarted process restart again.
        var envp = Split(env).Where(e => !IsEntryOf(e, Variable) && !IsEntryOf(e, Marker)).ToList();
        envp.Add(Encoding.UTF8.GetBytes($"{Variable}={Tunables}"));
        envp.Add(Encoding.UTF8.GetBytes($"{Marker}=main"));
        if (argv.Count == 0) return -1;

        var allocated = new List<IntPtr>();
        try
        {
            IntPtr[] Pointers(List<byte[]> strings)
            {
                var p = new IntPtr[strings.Count + 1]; // NULL-terminated
                for (int i = 0; i < strings.Count; i++)
                {
                    p[i] = Marshal.AllocHGlobal(strings[i].Length + 1);
                    allocated.Add(p[i]);
                    Marshal.Copy(strings[i], 0, p[i], strings[i].Length);
                    Marshal.WriteByte(p[i], strings[i].Length, 0);
                }
                return p;
            }
            Execve("/proc/self/exe", Pointers(argv), Pointers(envp));
            return Marshal.GetLastPInvokeError();
        }
        finally
        {
            foreach (var p in allocated) Marshal.FreeHGlobal(p);
        }
    }

    static bool IsEntryOf(byte[] entry, string name) =>
        entry.Length > name.Length && entry[name.Length] == (byte)'=' && entry.AsSpan(0, name.Length).SequenceEqual(Encoding.ASCII.GetBytes(name));

    /// <summary>The NUL-separated strings of a /proc file (the last one NUL-terminated too).</summary>
    internal static List<byte[]> Split(ReadOnlySpan<byte> block)
    {
        var strings = new List<byte[]>();
        while (!block.IsEmpty)
        {
            int end = block.IndexOf((byte)0);
            if (end < 0) end = block.Length;
            strings.Add(block[..end].ToArray());
            block = end < block.Length ? block[(end + 1)..] : [];
        }
        return strings;
    }

    static bool IsGlibc()
    {
        try { return GnuGetLibcVersion() != IntPtr.Zero; }
        catch (EntryPointNotFoundException) { return false; } // musl and others
        catch (DllNotFoundException) { return false; }
    }

    [DllImport("libc", EntryPoint = "gnu_get_libc_version")]
    static extern IntPtr GnuGetLibcVersion();

    [DllImport("libc", EntryPoint = "execve", SetLastError = true)]
    static extern int Execve([MarshalAs(UnmanagedType.LPUTF8Str)] string path, IntPtr[] argv, IntPtr[] envp);
}
