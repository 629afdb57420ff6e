using System.Runtime.InteropServices;
using System.Text;

namespace Sedd.Trainer.Training;

/// <summary>
/// Keeps libtorch's large CPU tensors in glibc's main heap, so that a buffer freed at the end of one
/// training step is reused by the next instead of being given back to the kernel and faulted in again.
/// With glibc's defaults every tensor above 32 MB (a batch of 128 × 128 tokens over the vocabulary is
/// 256 MB) gets its own mapping, which is unmapped when freed and zero-filled page by page when touched
/// again: training the default model spent half its CPU time in the kernel (about 90,000 page faults a
/// second, 1,150–1,450 tokens/s on 2 cores). Kept in the main heap, the same run had 16 faults a second
/// and 3,500 tokens/s. The cost is that freed memory stays with the process until it exits.
/// <para>
/// glibc reads these settings only when a program starts, and its secondary arenas map large blocks
/// whatever <c>mallopt</c> says, so the program starts itself again, once and first thing, with
/// GLIBC_TUNABLES set: the same process (execve keeps the pid, the terminal and the arguments). A
/// GLIBC_TUNABLES the user set is left alone (any value, e.g. <c>glibc.malloc.check=0</c>, keeps glibc's
/// defaults), and so is any system whose C library is not glibc.
/// </para>
/// </summary>
public static partial class NativeHeap
{
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

    [LibraryImport("libc", EntryPoint = "gnu_get_libc_version")]
    private static partial IntPtr GnuGetLibcVersion();

    [LibraryImport("libc", EntryPoint = "execve", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    private static partial int Execve(string path, IntPtr[] argv, IntPtr[] envp);
}
