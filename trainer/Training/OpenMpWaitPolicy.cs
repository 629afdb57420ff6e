using System.Runtime.InteropServices;

namespace Sedd.Trainer.Training;

/// <summary>
/// Makes libtorch's OpenMP workers sleep instead of spin while they wait (OMP_WAIT_POLICY=PASSIVE),
/// unless the caller already chose a policy. On a loaded 2-core machine, spinning workers that lose
/// their core at a barrier made TorchSharp's 2-thread forward ten times slower than with passive
/// waiting (350 ms against 31 ms), and training steps up to ten times slower. ONNX Runtime's pool is
/// likewise set not to spin by the runtime (session.intra_op.allow_spinning = 0), so sedd-compare
/// measures both engines alike. Every program that loads libtorch calls this first.
/// </summary>
public static partial class OpenMpWaitPolicy
{
    const string Variable = "OMP_WAIT_POLICY";

    /// <summary>
    /// Sets the variable in the native environment, where libgomp reads it when libtorch is loaded; so
    /// this must run before the first TorchSharp call. (.NET's Environment.SetEnvironmentVariable only
    /// changes the managed copy on Unix.) <see cref="InForce"/> then says which policy applies.
    /// </summary>
    public static void PreferPassive()
    {
        string? chosen = Environment.GetEnvironmentVariable(Variable);
        if (!string.IsNullOrEmpty(chosen)) InForce = chosen + " (from the environment)";
        else if (!OperatingSystem.IsLinux() && !OperatingSystem.IsMacOS()) InForce = "libgomp's default (not set off Unix)";
        else InForce = SetEnv(Variable, "PASSIVE", 0) == 0 ? "PASSIVE (set by Sedd)" : "libgomp's default (setenv failed)";
    }

    /// <summary>The OpenMP wait policy libtorch runs with, for the report.</summary>
    public static string InForce { get; private set; } = "libgomp's default";

    /// <summary>The variable as the native environment holds it (what libgomp reads), or null; Unix only.</summary>
    public static string? NativeValue() =>
        OperatingSystem.IsLinux() || OperatingSystem.IsMacOS() ? Marshal.PtrToStringUTF8(GetEnv(Variable)) : null;

    [LibraryImport("libc", EntryPoint = "getenv", StringMarshalling = StringMarshalling.Utf8)]
    private static partial IntPtr GetEnv(string name);

    [LibraryImport("libc", EntryPoint = "setenv", StringMarshalling = StringMarshalling.Utf8)]
    private static partial int SetEnv(string name, string value, int overwrite);
}
