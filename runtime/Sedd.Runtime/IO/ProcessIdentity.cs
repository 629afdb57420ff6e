using System.Diagnostics;

namespace Sedd.Runtime.IO;

/// <summary>
/// Who wrote a temporary file or folder: host, process id and the process's start time, so that a later
/// run can tell a leftover of a process that is gone (safe to clean up) from the work of one that is
/// still running, even after the id has been reused by another process.
/// </summary>
/// <param name="Host">Machine name.</param>
/// <param name="Pid">Process id.</param>
/// <param name="StartTicks">Process start time, UTC ticks.</param>
public sealed record ProcessIdentity(string Host, int Pid, long StartTicks)
{
    /// <summary>This process.</summary>
    public static ProcessIdentity Current { get; } = Create();

    /// <summary>
    /// Whether the process may still be running: true for another machine's process (this machine cannot
    /// know) and for a live process with the same id and start time; false when it is provably gone.
    /// </summary>
    public bool MayBeRunning()
    {
        if (!string.Equals(Host, Environment.MachineName, StringComparison.Ordinal)) return true;
        try
        {
            using var p = Process.GetProcessById(Pid);
            if (p.HasExited) return false;
            // A reused id belongs to a process that started later; allow for rounding of the start time.
            return Math.Abs(p.StartTime.ToUniversalTime().Ticks - StartTicks) < TimeSpan.TicksPerSecond;
        }
        catch (ArgumentException) { return false; }          // no such process
        catch (InvalidOperationException) { return false; }  // it exited while we looked
        catch (System.ComponentModel.Win32Exception) { return true; }   // not ours to inspect: assume alive
        catch (NotSupportedException) { return true; }
    }

    static ProcessIdentity Create()
    {
        using var p = Process.GetCurrentProcess();
        long start;
        try { start = p.StartTime.ToUniversalTime().Ticks; }
        catch (Exception e) when (e is InvalidOperationException or NotSupportedException or System.ComponentModel.Win32Exception) { start = 0; }
        return new ProcessIdentity(Environment.MachineName, Environment.ProcessId, start);
    }
}
