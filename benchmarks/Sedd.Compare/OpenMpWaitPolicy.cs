using System.Runtime.InteropServices;

namespace Sedd.Compare;

/// <summary>
/// Makes libtorch's OpenMP workers sleep instead of spin while they wait (OMP_WAIT_POLICY=PASSIVE),
/// unless the caller already chose a policy. ONNX Runtime's pool is set not to spin by the runtime
/// (session.intra_op.allow_spinning = 0); without the same for libgomp, the two engines would not be
/// measured alike, and on a loaded 2-core machine spinning workers that lose their core at a barrier
/// made TorchSharp's 2-thread forward ten times slower than with passive waiting (350 ms against 31 ms).
/// </summary>
static partial class OpenMpWaitPolicy
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
        else InForce = SetEnv(Variable, "PASSIVE", 0) == 0 ? "PASSIVE (set by sedd-compare)" : "libgomp's default (setenv failed)";
    }

    /// <summary>The OpenMP wait policy libtorch runs with, for the report.</summary>
    public static string InForce { get; private set; } = "libgomp's default";

    [LibraryImport("libc", EntryPoint = "setenv", StringMarshalling = StringMarshalling.Utf8)]
    private static partial int SetEnv(string name, string value, int overwrite);
}
