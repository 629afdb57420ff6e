using Sedd.Exporter;
using Sedd.Exporter.Sources;
using Sedd.Exporter.Verification;
using Sedd.Runtime.IO;
using Sedd.Runtime.Package;
using Xunit.Abstractions;

namespace Sedd.Tests;

/// <summary>
/// Issue 3 acceptance: random tiny models of both graphs, exported from real sedd-train checkpoints,
/// run in ONNX Runtime (CPU, all optimisations) and match the trainer's TorchSharp forward within
/// 1e-4 over batches 1–3, every length 1–L and σ̄ across the schedule's range.
/// </summary>
public sealed class ExportParityTest(ITestOutputHelper output) : IDisposable
{
    readonly string root = Directory.CreateTempSubdirectory("sedd-export-parity-").FullName;

    [Theory]
    [InlineData("absorb", "score")]
    [InlineData("uniform", "score")]
    [InlineData("absorb", "normalized")]
    public void ExportParity_OrtMatchesTorchSharp(string graph, string parameterization)
    {
        var checkpoint = TinyCheckpoints.Create(root, graph, parameterization: parameterization);
        var result = ExportHarness.Export(checkpoint, Path.Combine(root, "pkg"));
        var v = result.Manifest.Verification!;
        Assert.Equal("torchsharp", v.Reference);
        Assert.True(v.MaxAbsDiff <= ExportVerifier.Fp32Limit, $"export verification {v.MaxAbsDiff}");
        Assert.Equal(parameterization, result.Manifest.Model.Parameterization);
        Assert.Equal(parameterization, ModelPackage.Open(result.Folder).Manifest.Model.Parameterization);
        Assert.Contains($"- Parameterization: {parameterization}", File.ReadAllText(Path.Combine(result.Folder, "README.md")), StringComparison.Ordinal);

        var source = SourceLoader.Load(checkpoint, "ema", null, null, null);
        using var reference = TorchReference.TryCreate(source, out var why) ?? throw new InvalidOperationException(why);
        using var session = new ScoreNetworkSession(Path.Combine(result.Folder, "model.onnx"));
        var schedule = source.Schedule();
        double[] sigmas = [1e-5, schedule.TotalNoise(0.001), schedule.TotalNoise(0.3), schedule.TotalNoise(0.7), schedule.MaxTotalNoise];
        var random = new Random(5);
        double max = 0;
        int cases = 0;
        for (int batch = 1; batch <= 3; batch++)
            for (int length = 1; length <= TinyCheckpoints.Length; length++)
                foreach (var sigma in sigmas)
                {
                    var indices = Enumerable.Range(0, batch * length).Select(_ => (long)random.Next(source.States)).ToArray();
                    var s = Enumerable.Range(0, batch).Select(i => (float)(sigma * (1 + 0.1 * i))).ToArray();
                    var (y, shape) = session.Run(indices, s, length);
                    Assert.Equal([batch, length, source.States], shape);
                    var r = reference.Forward(indices, s, length);
                    max = Math.Max(max, y.Zip(r, (a, b) => Math.Abs((double)a - b)).Max());
                    if (parameterization == "normalized") CheckNormalizedRows(y, indices, s, length, source.Tokens);
                    cases++;
                }
        output.WriteLine($"{graph} ({parameterization}): max |ORT − TorchSharp| = {max:E2} over {cases} inputs; export check {v.MaxAbsDiff:E2} over {v.Cases}");
        Assert.True(max <= ExportVerifier.Fp32Limit, $"{graph} ({parameterization}): max |Δ| = {max:E2} > 1e-4");
    }

    /// <summary>The graph's own contract for the samplers: masked rows sum to 1/expm1s(σ̄) over the real tokens, own token 0.</summary>
    static void CheckNormalizedRows(float[] y, long[] indices, float[] sigma, int length, int tokens)
    {
        int d = tokens + 1;
        for (int r = 0; r < indices.Length; r++)
        {
            Assert.Equal(0f, y[r * d + indices[r]]);
            if (indices[r] != tokens) continue;
            double total = 0;
            for (int j = 0; j < tokens; j++) total += Math.Exp(y[r * d + j]);
            double e = Sedd.Runtime.SeddMath.Expm1s(sigma[r / length]);
            Assert.True(Math.Abs(total * e - 1) < 1e-5, $"row {r}: Σ exp(log_score) · expm1s(σ̄) = {total * e:R}");
        }
    }

    [Fact]
    public void ExportParity_ExportsEmaByDefaultAndOnlineOnRequest()
    {
        var checkpoint = TinyCheckpoints.Create(root, "absorb");
        var ema = ExportHarness.Export(checkpoint, Path.Combine(root, "ema"));
        var online = ExportHarness.Export(checkpoint, Path.Combine(root, "online"), weights: "online");
        const string name = "blocks.0.attn_qkv.weight";
        Assert.Equal(Safetensors.Read(Path.Combine(checkpoint, "ema.safetensors")).Tensors[name].Data, Weights(ema)[name].Data);
        Assert.Equal(Safetensors.Read(Path.Combine(checkpoint, "model.safetensors")).Tensors[name].Data, Weights(online)[name].Data);
        Assert.Equal("ema", ema.Manifest.Provenance.Weights);
        Assert.Equal("online", online.Manifest.Provenance.Weights);
    }

    [Fact]
    public void ExportParity_WithoutTorch_SkipsLoudlyAndRecordsNone()
    {
        var checkpoint = TinyCheckpoints.Create(root, "uniform");
        Environment.SetEnvironmentVariable(TorchReference.DisableVariable, "1");
        try
        {
            var log = new StringWriter();
            var result = Sedd.Exporter.PackageWriter.Write(SourceLoader.Load(checkpoint, "ema", null, null, null), Path.Combine(root, "pkg"), "fp32", false, null, log);
            Assert.Equal("none", result.Manifest.Verification!.Reference);
            Assert.Null(result.Manifest.Verification.MaxAbsDiff);
            Assert.Contains("verification skipped:", log.ToString(), StringComparison.Ordinal);
            Assert.StartsWith("verification skipped:", result.Verification, StringComparison.Ordinal);
        }
        finally { Environment.SetEnvironmentVariable(TorchReference.DisableVariable, null); }
    }

    static Dictionary<string, SafeTensor> Weights(ExportResult r) => Safetensors.Read(Path.Combine(r.Folder, "model.safetensors")).Tensors;

    public void Dispose() => Directory.Delete(root, recursive: true);
}
