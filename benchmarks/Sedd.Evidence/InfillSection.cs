using Sedd.Runtime;
using Sedd.Runtime.Onnx;
using Sedd.Runtime.Package;
using Sedd.Runtime.Sampling;
using Sedd.Trainer.Data;
using static Sedd.Evidence.EvidenceReport;

namespace Sedd.Evidence;

/// <summary>One infilling example: held-out text with its middle regenerated.</summary>
/// <param name="Block">Brown test block the window comes from.</param>
/// <param name="Offset">Token offset of the window within the block.</param>
/// <param name="Prefix">Fixed prefix text.</param>
/// <param name="Generated">The model's middle.</param>
/// <param name="Suffix">Fixed suffix text.</param>
/// <param name="Original">The middle the text really had.</param>
/// <param name="GeneratedIds">Token ids of <paramref name="Generated"/>.</param>
sealed record InfillExample(int Block, int Offset, string Prefix, string Generated, string Suffix, string Original, long[] GeneratedIds);

/// <summary>
/// Section 5: infilling by projection (spec §6.6). A window of <see cref="Window"/> tokens from a
/// held-out Brown test block keeps its first <see cref="Fixed"/> and last <see cref="Fixed"/> tokens;
/// the runtime generates the middle with the analytic predictor, seeded.
/// </summary>
static class InfillSection
{
    /// <summary>Tokens per example.</summary>
    public const int Window = 40;

    /// <summary>Fixed tokens on each side.</summary>
    public const int Fixed = 12;

    /// <summary>Generates the examples.</summary>
    public static IReadOnlyList<InfillExample> Run(EvidenceOptions o, ModelPackage package, string brown, TextWriter log, CancellationToken ct)
    {
        var manifest = package.Manifest;
        var tokenizer = package.CreateTokenizer();
        using var test = TokenDataset.Open(brown, DataSplit.Test);
        int blockLength = manifest.Length;
        int blocks = test.BlockCount(blockLength);
        if (blocks == 0) throw new SeddException($"the test split of {brown} has fewer than {blockLength} tokens", SeddException.BadInput);
        using var network = OnnxScoreNetwork.Open(package, new OnnxScoreNetworkOptions { Provider = ExecutionProvider.Cpu, Threads = o.Threads });
        var examples = new List<InfillExample>();
        var block = new long[blockLength];
        for (int i = 0; i < o.InfillExamples; i++)
        {
            ct.ThrowIfCancellationRequested();
            // Blocks spread over the split; within a block, the first window free of EOS (one document).
            int index = (int)((2L * i + 1) * blocks / (2L * o.InfillExamples));
            int offset = -1;
            for (int tries = 0; tries < blocks && offset < 0; tries++, index = (index + 1) % blocks)
            {
                test.ReadBlock(index, blockLength, block);
                offset = FirstWindowWithout(block, tokenizer.EosId);
            }
            if (offset < 0) throw new SeddException($"no {Window}-token window without EOS in the test split of {brown}", SeddException.BadInput);
            index = (index - 1 + blocks) % blocks;
            var window = block.AsSpan(offset, Window);
            var prefix = window[..Fixed].ToArray();
            var suffix = window[(Window - Fixed)..].ToArray();
            var middle = window[Fixed..(Window - Fixed)].ToArray();
            var sampler = new DiffusionSampler(manifest.CreateGraph(), manifest.CreateNoise(), network, 1, Window,
                new SamplingOptions { Predictor = Predictor.Analytic, Steps = o.InfillSteps, Threads = 1 },
                InfillProjector.Affix(prefix, suffix, Window));
            var generated = sampler.Run((ulong)(o.Seed + i), ct)[Fixed..(Window - Fixed)].ToArray();
            var example = new InfillExample(index, offset, Decode(tokenizer, prefix), Decode(tokenizer, generated), Decode(tokenizer, suffix), Decode(tokenizer, middle), generated);
            log.WriteLine($"[infill] {i + 1}: …{example.Prefix}[{example.Generated}]{example.Suffix}… (original: [{example.Original}])".ReplaceLineEndings(" "));
            examples.Add(example);
        }
        return examples;
    }

    static int FirstWindowWithout(long[] block, int eos)
    {
        for (int start = 0; start + Window <= block.Length; start++)
            if (Array.IndexOf(block, (long)eos, start, Window) < 0) return start;
        return -1;
    }

    static string Decode(Sedd.Runtime.Text.SeddTokenizer tokenizer, long[] ids) => tokenizer.Decode(ids.Select(t => (int)t).ToArray());

    /// <summary>Appends the examples.</summary>
    public static void Write(EvidenceReport report, IReadOnlyList<InfillExample> examples, EvidenceOptions o)
    {
        report.Data("infill", examples);
        static string Show(string s) => "`" + s.ReplaceLineEndings(" ").Replace("`", "'", StringComparison.Ordinal) + "`";
        var table = Table(["#", "prefix (fixed)", "generated middle", "suffix (fixed)", "original middle"],
            examples.Select((e, i) => (IReadOnlyList<string>)[(i + 1).ToString(C), Show(e.Prefix), "**" + Show(e.Generated) + "**", Show(e.Suffix), Show(e.Original)]));
        var note = $"Windows of {Window} tokens from held-out Brown test blocks: the first and last {Fixed} tokens are fixed, the middle {Window - 2 * Fixed} " +
            $"are generated by the exported package ({o.InfillSteps} analytic steps, seed {o.Seed} + example index). Examples are not cherry-picked: block i of {o.InfillExamples} " +
            "evenly spaced blocks, first window without a document break.";
        report.Markdown.AppendLine("## 5. Infilling").AppendLine().Append(table).AppendLine().AppendLine(note).AppendLine();
        report.Readme.AppendLine("**Infilling** (held-out Brown text; middle generated):").AppendLine().Append(table).AppendLine().AppendLine(note).AppendLine();
    }
}
