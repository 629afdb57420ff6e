using Sedd.Compare;

namespace Sedd.Benchmarks.Tests.Compare;

public class MachineTest
{
    [Fact]
    public void MachineTest_AnAvx512CpuWithAvx512OffForDotnetSaysWhichPathRanAndThatOrtStillUsesAvx512()
    {
        var text = Machine.HostSimd("Vector256 (AVX2)", cpuAvx512: true, oldVariable: null, vector512: false);
        Assert.StartsWith("Vector256 (AVX2)", text, StringComparison.Ordinal);
        Assert.Contains("DOTNET_EnableAVX512=0", text, StringComparison.Ordinal);
        Assert.Contains("ONNX Runtime still uses AVX-512", text, StringComparison.Ordinal);
    }

    [Fact]
    public void MachineTest_TheVariableDotnet10IgnoresIsNamedWithTheOneItReads()
    {
        var text = Machine.HostSimd("Vector512 (AVX-512)", cpuAvx512: true, oldVariable: "0", vector512: true);
        Assert.Contains("DOTNET_EnableAVX512F=0 is not read", text, StringComparison.Ordinal);
        Assert.Contains("DOTNET_EnableAVX512=0", text, StringComparison.Ordinal);
    }

    [Fact]
    public void MachineTest_PlainMachinesGetJustTheWidth()
    {
        Assert.Equal("Vector512 (AVX-512)", Machine.HostSimd("Vector512 (AVX-512)", cpuAvx512: true, oldVariable: null, vector512: true));
        Assert.Equal("Vector256 (AVX2)", Machine.HostSimd("Vector256 (AVX2)", cpuAvx512: false, oldVariable: null, vector512: false));
        // The width reported is the one the JIT accelerates in this process.
        var width = Machine.SimdWidth();
        Assert.Equal(System.Runtime.Intrinsics.Vector512.IsHardwareAccelerated, width.StartsWith("Vector512", StringComparison.Ordinal));
    }
}
