using Sedd.Trainer.Training;
using Xunit;

namespace Sedd.Trainer.Tests.Training;

public class OpenMpWaitPolicyTest
{
    [Fact]
    public void LibgompSeesPassiveWaitingUnlessTheUserChoseAPolicy()
    {
        if (!OperatingSystem.IsLinux() && !OperatingSystem.IsMacOS()) return; // setenv is Unix only
        string? chosen = Environment.GetEnvironmentVariable("OMP_WAIT_POLICY");

        OpenMpWaitPolicy.PreferPassive();

        // The native environment, which libgomp reads when libtorch loads, not .NET's managed copy.
        if (string.IsNullOrEmpty(chosen))
        {
            Assert.Equal("PASSIVE", OpenMpWaitPolicy.NativeValue());
            Assert.StartsWith("PASSIVE", OpenMpWaitPolicy.InForce, StringComparison.Ordinal);
        }
        else
        {
            Assert.Equal(chosen, OpenMpWaitPolicy.NativeValue());
            Assert.Contains("from the environment", OpenMpWaitPolicy.InForce, StringComparison.Ordinal);
        }
    }
}
