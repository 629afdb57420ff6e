using System.Text.Json.Nodes;
using Sedd.Runtime.Tests.Onnx;
using Sedd.Tests.Shared;

namespace Sedd.Runtime.Tests.Cli;

/// <summary>A shared tiny package (length 32) for the CLI runs.</summary>
public sealed class TinyPackageFixture : IDisposable
{
    public TinyPackage Package { get; } = TinyPackage.Create();

    public void Dispose() => Package.Dispose();
}

/// <summary>The sedd CLI end to end, as a child process: commands, output formats, errors and exit codes.</summary>
public sealed class SeddCliTest(TinyPackageFixture fixture) : IClassFixture<TinyPackageFixture>
{
    string Model => fixture.Package.Folder;

    ToolResult Sample(params string[] args) => SeddProcess.Run(["sample", "--model", Model, "--provider", "cpu", "--steps", "8", .. args]);

    [Fact]
    public void SeddCliTest_HelpExitsZero()
    {
        var r = SeddProcess.Run("--help");
        Assert.True(r.Code == 0, r.ToString());
        foreach (var command in new[] { "sample", "infill", "info", "bench" }) Assert.Contains(command, r.Out, StringComparison.Ordinal);
        // Run as `dotnet sedd.dll`, help still names the tool, not the host.
        Assert.Contains("Usage: sedd ", r.Out, StringComparison.Ordinal);
        Assert.Contains("Usage: sedd sample", SeddProcess.Run("sample", "--help").Out, StringComparison.Ordinal);
    }

    [Fact]
    public void SeddCliTest_SampleWithPromptAndSuffixKeepsEveryFixedToken()
    {
        var r = Sample("--prompt", "Hello there", "--suffix", " The end.", "--keep-eos", "--seed", "3");
        Assert.True(r.Code == 0, r.ToString());
        var text = r.Out.TrimEnd('\n');
        Assert.StartsWith("Hello there", text, StringComparison.Ordinal);
        Assert.EndsWith(" The end.", text, StringComparison.Ordinal);
        Assert.True(text.Length > "Hello there The end.".Length, r.ToString());
    }

    [Fact]
    public void SeddCliTest_JsonlHasOneObjectPerSampleWithItsMetadata()
    {
        var r = Sample("--batch", "2", "--format", "jsonl", "--seed", "77", "--sampler", "euler", "--length", "20", "--prompt", "A");
        Assert.True(r.Code == 0, r.ToString());
        var lines = r.Out.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal(2, lines.Length);
        for (int i = 0; i < lines.Length; i++)
        {
            var o = JsonNode.Parse(lines[i])!.AsObject();
            Assert.StartsWith("A", (string)o["text"]!, StringComparison.Ordinal);
            Assert.Equal(i, (int)o["index"]!);
            Assert.Equal(77UL, (ulong)o["seed"]!);
            Assert.Equal(8, (int)o["steps"]!);
            Assert.Equal("euler", (string)o["sampler"]!);
            Assert.Equal("cpu", (string)o["provider"]!);
            Assert.Equal(20, (int)o["length"]!);
            Assert.True((double)o["seconds"]! > 0);
            Assert.Equal(9, (int)o["network_evaluations"]!);
        }
    }

    [Fact]
    public void SeddCliTest_RandomSeedIsReportedAndReproducesTheText()
    {
        var first = Sample("--format", "jsonl");
        Assert.True(first.Code == 0, first.ToString());
        var o = JsonNode.Parse(first.Out)!.AsObject();
        var again = Sample("--format", "jsonl", "--seed", ((ulong)o["seed"]!).ToString(System.Globalization.CultureInfo.InvariantCulture));
        Assert.Equal((string)o["text"]!, (string)JsonNode.Parse(again.Out)!["text"]!);
    }

    [Fact]
    public void SeddCliTest_SameSeedSameTextAtAnyThreadCount()
    {
        var one = Sample("--seed", "123", "--batch", "3", "--threads", "1", "--keep-eos");
        var two = Sample("--seed", "123", "--batch", "3", "--threads", "2", "--keep-eos");
        Assert.True(one.Code == 0 && two.Code == 0, one + "\n" + two);
        Assert.Equal(one.Out, two.Out);
        Assert.NotEqual(one.Out, Sample("--seed", "124", "--batch", "3", "--keep-eos").Out);
    }

    [Fact]
    public void SeddCliTest_InfillKeepsTheTemplateText()
    {
        var r = SeddProcess.Run("infill", "The [MASK:3] sat on the [MASK:2].", "--model", Model, "--provider", "cpu", "--steps", "8", "--seed", "5", "--format", "jsonl");
        Assert.True(r.Code == 0, r.ToString());
        var o = JsonNode.Parse(r.Out)!.AsObject();
        var text = (string)o["text"]!;
        Assert.StartsWith("The", text, StringComparison.Ordinal);
        int sat = text.IndexOf(" sat on the", StringComparison.Ordinal);
        Assert.True(sat > 3, text);
        Assert.EndsWith(".", text, StringComparison.Ordinal);
        // gpt2-256 keeps only the byte tokens: "The " (4) + 3 blanks + " sat on the " (12) + 2 blanks + "." (1).
        Assert.Equal(22, (int)o["length"]!);
    }

    [Fact]
    public void SeddCliTest_InfoListsTheManifestAndTheOnnxSize()
    {
        var r = SeddProcess.Run("info", "--model", Model);
        Assert.True(r.Code == 0, r.ToString());
        foreach (var expected in new[] { "graph:        absorb, 257 tokens, 258 states, mask id 257", "length:       32", "tokenizer:    gpt2-256",
            "hidden 16, cond 8, 1 blocks, 2 heads", "parameterization score", "precision fp32", "perplexity ≤ 123.40", "verification: against none", "onnx size:", "model.safetensors" })
            Assert.True(r.Out.Contains(expected, StringComparison.Ordinal), $"missing '{expected}'; {r}");
    }

    [Fact]
    public void SeddCliTest_BenchReportsTimesSharesAndZeroBytesPerStep()
    {
        // A time-independent model, so the bench also compares exact caching with plain sampling.
        using var package = TinyPackage.Create(timeIndependent: true);
        var r = SeddProcess.Run("bench", "--model", package.Folder, "--provider", "cpu", "--batch-sizes", "1,2", "--steps", "4", "--threads", "1");
        Assert.True(r.Code == 0, r.ToString());
        Assert.Contains("exact caching", r.Out, StringComparison.Ordinal);
        var lines = r.Out.Split('\n');
        var rows = lines.Skip(2).TakeWhile(l => l.Trim().Length > 0).ToArray();
        Assert.Equal(2, rows.Length);
        foreach (var row in rows)
        {
            var cells = row.Split(' ', StringSplitOptions.RemoveEmptyEntries);
            Assert.True(double.Parse(cells[1], System.Globalization.CultureInfo.InvariantCulture) > 0, r.ToString());
            Assert.Equal("0", cells[^1]); // managed bytes per step
        }
        // Without caching a sequence is evaluated once per step and once for the final denoise; caching never evaluates more.
        foreach (var batch in new[] { 1, 2 })
        {
            long Rows(string sampler) => long.Parse(lines.Select(l => l.Split(' ', StringSplitOptions.RemoveEmptyEntries))
                .Single(c => c.Length > 2 && c[0] == batch.ToString(System.Globalization.CultureInfo.InvariantCulture) && c[1] == sampler)[2], System.Globalization.CultureInfo.InvariantCulture);
            Assert.Equal(batch * 5L, Rows("analytic"));
            Assert.True(Rows("analytic+cache") <= batch * 5L, r.ToString());
        }
    }

    [Fact]
    public void SeddCliTest_ModelFromEnvironment()
    {
        var r = SeddProcess.Run(new Dictionary<string, string> { ["SEDD_MODEL"] = Model }, "sample", "--provider", "cpu", "--steps", "4");
        Assert.True(r.Code == 0, r.ToString());
    }

    [Fact]
    public void SeddCliTest_AutoProviderTakesTheCpuAndSaysSoInOneShortLine()
    {
        var r = Sample("--provider", "auto", "--format", "jsonl");
        Assert.True(r.Code == 0, r.ToString());
        Assert.Equal("cpu", (string)JsonNode.Parse(r.Out)!["provider"]!);
        // sedd is built with ONNX Runtime's CUDA library, which cannot start here: one short line says so.
        var note = r.Err.Split('\n', StringSplitOptions.RemoveEmptyEntries).Where(l => l.Contains("provider", StringComparison.Ordinal)).ToArray();
        Assert.Single(note);
        Assert.Contains("running on the CPU", note[0], StringComparison.Ordinal);
        Assert.True(note[0].Length < 120, note[0]);
    }

    [Fact]
    public void SeddCliTest_ExplicitCudaNamesTheMissingLibraries() =>
        SeddProcess.AssertOneLineFailure(Sample("--provider", "cuda"), 3, "CUDA 13", "cuDNN 9");

    [Fact]
    public void SeddCliTest_ExplicitDirectMLSaysTheBuildLacksIt() =>
        SeddProcess.AssertOneLineFailure(Sample("--provider", "dml"), 3, "no DirectML execution provider", "-p:OrtFlavor=directml");

    [Theory]
    [InlineData("--temperature", "0", "--temperature must lie in")]
    [InlineData("--top-p", "2", "--top-p must lie in (0, 1]")]
    [InlineData("--steps", "-3", "--steps must lie in")]
    [InlineData("--batch", "100000000", "--batch must lie in")]
    public void SeddCliTest_OptionsAreCheckedBeforeTheModelLoads(string option, string value, string expected)
    {
        // The provider line would come first if the model had been loaded; the mistake is the only line.
        var r = SeddProcess.Run("sample", "--model", Model, "--provider", "auto", option, value);
        SeddProcess.AssertOneLineFailure(r, 1, expected);
        Assert.DoesNotContain("running on", r.Err, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(new[] { "infill", "no blank here" }, "the template has no blank")]
    [InlineData(new[] { "infill", "The [MASK:999999] end." }, "must ask for 1 …")]
    [InlineData(new[] { "sample", "--length", "6", "--prompt", "abc", "--suffix", "def" }, "leave nothing to generate")]
    [InlineData(new[] { "sample", "-o", "/nonexistent-sedd-folder/out.txt" }, "folder /nonexistent-sedd-folder does not exist")]
    public void SeddCliTest_RequestsRefusedAgainstTheModelAreOneLineWithAutoProvider(string[] args, string expected)
    {
        // The provider line is printed only once the request is known to run.
        var r = SeddProcess.Run([.. args, "--model", Model, "--provider", "auto"]);
        SeddProcess.AssertOneLineFailure(r, 1, expected);
        Assert.DoesNotContain("running on", r.Err, StringComparison.Ordinal);
    }

    [Fact]
    public void SeddCliTest_ABatchThatCannotFitIsOneLineBeforeSampling()
    {
        // 1,000 × 128 positions × 4,098 states of the default model: about 8 GB with the network's share,
        // against a 512 MB limit on the managed heap (which the memory check honours), so that the
        // request is refused on a machine of any size.
        var model = Directory.GetDirectories(Path.Combine(Sedd.Tests.Goldens.RepoRoot, "models")).Single(d => File.Exists(Path.Combine(d, "manifest.json")));
        var r = SeddProcess.Run(new Dictionary<string, string> { ["DOTNET_GCHeapHardLimit"] = "0x20000000" },
            "sample", "--model", model, "--provider", "auto", "--batch", "1000", "--steps", "2");
        SeddProcess.AssertOneLineFailure(r, 1, "sampling 1000 × 128 tokens over 4,098 states needs about", "use a smaller batch or length");
        Assert.DoesNotContain("running on", r.Err, StringComparison.Ordinal);
    }

    public static TheoryData<string[], int, string> BadInputs => new()
    {
        { ["sample", "--steps", "0"], 1, "--steps must lie in 1 … 100,000, got 0" },
        { ["sample", "--steps", "-4"], 1, "--steps must lie in 1 … 100,000, got -4" },
        { ["sample", "--steps", "many"], 1, "steps" },
        { ["sample", "--length", "0"], 1, "--length must lie in 1 … 65,536 tokens, got 0" },
        { ["sample", "--length", "70000"], 1, "--length must lie in 1 … 65,536 tokens" },
        { ["sample", "-n", "0"], 1, "-n/--n-predict must be at least 1" },
        { ["sample", "-n", "5", "--length", "9"], 1, "either --length" },
        { ["sample", "--num-samples", "0"], 1, "--num-samples must be at least 1" },
        { ["sample", "--temperature", "0"], 1, "temperature must lie in" },
        { ["sample", "--top-p", "1.5"], 1, "top-p must lie in (0, 1]" },
        { ["sample", "--top-k", "-2"], 1, "top-k must be ≥ 0" },
        { ["sample", "--threads", "100000"], 1, "--threads 100000 is more than" },
        { ["sample", "--length", "80", "--overlap", "40"], 1, "--overlap must lie in 1 … 30" },
        { ["sample", "--model", ""], 1, "--model needs a path" },
        { ["sample", "--batch", "0"], 1, "--batch must be at least 1" },
        { ["sample", "--batch", "100000000"], 1, "--batch must lie in 1 … 10,000, got 100000000" },
        { ["sample", "--provider", "tpu"], 1, "unknown provider 'tpu'" },
        { ["sample", "--sampler", "ddim"], 1, "unknown sampler 'ddim'" },
        { ["sample", "--sampler", "ddim\u001b[31m"], 1, "unknown sampler 'ddim\\x1b[31m'" },
        { ["sample", "--format", "xml"], 1, "unknown format 'xml'" },
        { ["sample", "--length", "4", "--prompt", "a long prompt that is longer than four tokens"], 1, "leave nothing to generate" },
        { ["sample", "--length", "6", "--prompt", "abc", "--suffix", "def"], 1, "--length is 6 tokens, but the prompt (3 tokens) and suffix (3 tokens) leave nothing to generate" },
        { ["sample", "--prompt", "a", "--prompt-file", "x.txt"], 1, "either --prompt or --prompt-file" },
        { ["infill", "No blank here."], 1, "the template has no blank" },
        { ["infill", "Too long: [MASK:30] and more text after it"], 1, "more than the model's 32 (infilling works within one window)" },
        { ["infill", "Zero [MASK:0]."], 1, "must ask for 1 … 32 tokens" },
        { ["infill", "Fine [MASK:2].", "--length", "9"], 1, "infill takes its length from the template" },
    };

    [Theory]
    [MemberData(nameof(BadInputs))]
    public void SeddCliTest_BadInputIsOneLineAndNonZeroExit(string[] args, int code, string expected) =>
        SeddProcess.AssertOneLineFailure(SeddProcess.Run([.. args, "--model", Model, .. args.Contains("--provider") ? Array.Empty<string>() : ["--provider", "cpu"]]), code, expected);

    [Fact]
    public void SeddCliTest_MissingAndUnknownPackages()
    {
        var missing = Path.Combine(Path.GetTempPath(), "sedd-no-such-package-" + Guid.NewGuid().ToString("N"));
        SeddProcess.AssertOneLineFailure(SeddProcess.Run("sample", "--model", missing), 2, "does not exist");
        SeddProcess.AssertOneLineFailure(SeddProcess.Run(new Dictionary<string, string> { ["SEDD_MODEL"] = missing }, "info"), 2, "does not exist");
        var empty = Directory.CreateTempSubdirectory("sedd-empty-");
        try { SeddProcess.AssertOneLineFailure(SeddProcess.Run("info", "--model", empty.FullName), 2, "is not a model package"); }
        finally { empty.Delete(); }
    }

    [Fact]
    public void SeddCliTest_ManifestDisagreeingWithTheOnnxFile()
    {
        using var bad = TinyPackage.Create(edit: m => m with { Onnx = m.Onnx with { Outputs = [m.Onnx.Outputs[0] with { Name = "logits" }] } });
        SeddProcess.AssertOneLineFailure(SeddProcess.Run("sample", "--model", bad.Folder, "--provider", "cpu"), 2, "model.onnx declares outputs (log_score) but manifest.json says (logits)");
    }

    [Theory]
    [InlineData(new byte[] { 0x48, 0x69, 0xFF, 0x21 })]            // not UTF-8 at all
    [InlineData(new byte[] { 0x48, 0x69, 0xED, 0xA0, 0x80, 0x21 })] // an encoded lone surrogate (CESU-8)
    public void SeddCliTest_PromptFileThatIsNotUtf8(byte[] bytes)
    {
        var file = Path.GetTempFileName();
        try
        {
            File.WriteAllBytes(file, bytes);
            SeddProcess.AssertOneLineFailure(Sample("--prompt-file", file), 2, "is not valid UTF-8");
        }
        finally { File.Delete(file); }
    }

    [Fact]
    public void SeddCliTest_PromptFileIsUsed()
    {
        var file = Path.GetTempFileName();
        try
        {
            File.WriteAllText(file, "Once upon");
            var r = Sample("--prompt-file", file, "--seed", "1");
            Assert.True(r.Code == 0, r.ToString());
            Assert.StartsWith("Once upon", r.Out, StringComparison.Ordinal);
        }
        finally { File.Delete(file); }
    }

    // Ctrl+C and SIGTERM share one handler. The test sends SIGTERM: a child started from a non-interactive
    // parent (CI, a background shell) inherits SIGINT as ignored, and the runtime keeps it ignored, as
    // shells do for background jobs, so SIGINT from here would never arrive. From a terminal, kill -INT
    // gives the same one line and exit 130.
    [Fact]
    public async Task SeddCliTest_SignalStopsCleanlyWith130AndNoOutput()
    {
        if (!OperatingSystem.IsLinux()) return;
        // A shell starts sedd on a practically endless run, waits until ONNX Runtime is loaded (which
        // happens after sedd's signal handlers are in place), sends one SIGTERM and reports sedd's exit
        // code. A signal during the .NET runtime's own start-up would take the runtime's default path.
        var folder = Directory.CreateTempSubdirectory("sedd-signal-").FullName;
        try
        {
            string Q(string x) => "'" + x.Replace("'", "'\\''", StringComparison.Ordinal) + "'";
            var host = Environment.GetEnvironmentVariable("DOTNET_HOST_PATH") ?? "dotnet";
            var script = $"{Q(host)} {Q(SeddProcess.Dll)} sample --model {Q(Model)} --provider cpu --steps 100000 --threads 1 " +
                         $">{Q(folder)}/out 2>{Q(folder)}/err </dev/null & pid=$!\n" +
                         "i=0; while [ $i -lt 600 ] && ! grep -q libonnxruntime /proc/$pid/maps 2>/dev/null; do sleep 0.1; i=$((i+1)); done\n" +
                         "sleep 1; kill -TERM $pid; wait $pid; echo $?\n";
            var start = new System.Diagnostics.ProcessStartInfo("/bin/sh") { RedirectStandardOutput = true, UseShellExecute = false };
            start.ArgumentList.Add("-c");
            start.ArgumentList.Add(script);
            using var shell = System.Diagnostics.Process.Start(start)!;
            var code = await shell.StandardOutput.ReadToEndAsync();
            Assert.True(shell.WaitForExit(TimeSpan.FromMinutes(3)), "sedd did not stop within 3 minutes of the signal");
            var r = new ToolResult(int.Parse(code.Trim(), System.Globalization.CultureInfo.InvariantCulture),
                File.ReadAllText(Path.Combine(folder, "out")), File.ReadAllText(Path.Combine(folder, "err")));
            SeddProcess.AssertOneLineFailure(r, 130, "cancelled");
        }
        finally
        {
            Directory.Delete(folder, recursive: true);
        }
    }
}
