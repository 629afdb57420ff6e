using CsCheck;
using Sedd.Runtime.Onnx;
using Sedd.Tests.Shared;

namespace Sedd.Runtime.Tests.Onnx;

/// <summary>The files an ONNX model makes ONNX Runtime read are found without loading the model; a damaged model is bad input.</summary>
public sealed class OnnxExternalDataTest
{
    [Fact]
    public void OnnxExternalData_FindsTheDataFileOnlyWhenThereIsOne()
    {
        using var external = TinyPackage.Create(externalData: true);
        using var inline = TinyPackage.Create();
        Assert.Equal(["model.onnx.data"], OnnxExternalData.Locations(external.OnnxPath));
        Assert.Empty(OnnxExternalData.Locations(inline.OnnxPath));
    }

    [Fact]
    public void OnnxExternalData_DamagedModels_AreBadInput()
    {
        using var external = TinyPackage.Create(externalData: true);
        var bytes = File.ReadAllBytes(external.OnnxPath);
        var e = Assert.Throws<SeddException>(() => OnnxExternalData.Locations(new MemoryStream(bytes[..(bytes.Length / 2)]), "model.onnx"));
        Assert.Equal(SeddException.BadInput, e.ExitCode);
        Fuzz.Mutations(bytes).Sample(m => Fuzz.Expect(() => OnnxExternalData.Locations(new MemoryStream(m), "model.onnx"), "mutated model"),
            iter: 300, threads: 1);
    }
}
