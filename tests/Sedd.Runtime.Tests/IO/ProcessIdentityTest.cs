using Sedd.Runtime.IO;

namespace Sedd.Runtime.Tests.IO;

/// <summary>A leftover's owner is provably gone only on this host, with no live process of that id and start time.</summary>
public sealed class ProcessIdentityTest
{
    [Fact]
    public void ProcessIdentity_TellsLiveFromGone()
    {
        var me = ProcessIdentity.Current;
        Assert.True(me.MayBeRunning());
        Assert.False((me with { Pid = 2_000_000_000 }).MayBeRunning());                                 // no such process
        Assert.False((me with { StartTicks = me.StartTicks - TimeSpan.TicksPerHour }).MayBeRunning());  // the id was reused
        Assert.True((me with { Host = me.Host + "-elsewhere", Pid = 2_000_000_000 }).MayBeRunning());   // another machine's: unknowable
    }
}
