using System.Text;
using Sedd.Cli;
using Sedd.Tests.Shared;
using Sedd.Trainer.Tests.Data;
using Sedd.Trainer.Tests.Cli;
using Sedd.Trainer.Training;

namespace Sedd.Trainer.Tests.Training;

public class NativeHeapTest
{
    [Theory]
    [InlineData(null, null, true, "Restart")]
    [InlineData("", "", true, "Restart")]
    [InlineData("glibc.malloc.check=0", null, true, "UsersChoice")]
    [InlineData("glibc.malloc.arena_max=1", "main", true, "AlreadySet")] // glibc may leave only part of its copy
    [InlineData(null, "main", true, "AlreadySet")]
    [InlineData(null, null, false, "NotGlibc")]
    [InlineData("glibc.malloc.check=0", "main", false, "NotGlibc")]
    public void NativeHeapTest_RestartsOnlyOnGlibcAndOnlyOnceAndNeverOverTheUsersSettings(string? tunables, string? marker, bool glibc, string expected) =>
        Assert.Equal(expected, NativeHeap.Decide(tunables, marker, glibc).ToString());

    [Fact]
    public void NativeHeapTest_SplitsProcFilesIntoTheirExactStrings()
    {
        byte[] block = [(byte)'a', 0, 0xFF, (byte)'=', 0, 0, (byte)'c', 0];
        var strings = NativeHeap.Split(block);
        Assert.Equal(4, strings.Count); // an empty argument stays an argument
        Assert.Equal("a"u8.ToArray(), strings[0]);
        Assert.Equal(new byte[] { 0xFF, (byte)'=' }, strings[1]); // bytes as they are, not decoded
        Assert.Empty(strings[2]);
        Assert.Equal("c"u8.ToArray(), strings[3]);
        Assert.Single(NativeHeap.Split("x"u8)); // no final NUL
        Assert.Empty(NativeHeap.Split([]));
    }

    /// <summary>
    /// The built sedd-train restarts itself with the tunables and runs to the end with its arguments intact
    /// (an argument with a space and non-ASCII text among them); a GLIBC_TUNABLES of the user's is kept.
    /// </summary>
    [Fact]
    public void NativeHeapTest_TheTrainerRunsWithTheMainHeapUnlessTheUserSetGlibcTunables()
    {
        if (!OperatingSystem.IsLinux()) return;
        using var t = new TempFolder();
        var data = TinyTraining.PrepareCorpus(t);
        bool glibc = File.Exists("/proc/self/maps") && File.ReadAllText("/proc/self/maps").Contains("libc.so.6", StringComparison.Ordinal);

        foreach (var (tunables, expected) in new[] { ("", "glibc main heap only (set by Sedd)"), ("glibc.malloc.check=0", "GLIBC_TUNABLES from the environment") })
        {
            var run = t.Combine(tunables.Length == 0 ? "run a é" : "run b");
            var r = CliProcess.Run(t.Path, ["train", .. TinyTraining.Overrides(data, run, 2)],
                new Dictionary<string, string> { ["GLIBC_TUNABLES"] = tunables, ["SEDD_NATIVE_HEAP"] = "" });
            Assert.True(r.Code == 0, r.ToString());
            Assert.True(Checkpoint.All(run).Length == 1, $"the run's arguments did not survive the restart: {r}");
            if (glibc) Assert.Contains("native heap: " + expected, r.Out, StringComparison.Ordinal);
        }
    }
}
