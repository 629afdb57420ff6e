using System.Globalization;
using System.Text;
using System.Text.Encodings.Web;
using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.Unicode;
using Sedd.Runtime;
using Sedd.Runtime.Generation;
using Sedd.Runtime.IO;
using Sedd.Runtime.Onnx;
using Sedd.Runtime.Sampling;

namespace Sedd.Cli;

/// <summary>
/// <c>sedd sample</c> and <c>sedd infill</c>: map the options onto a <see cref="GenerationRequest"/>,
/// let <see cref="SeddGenerator"/> (the library's one generation path, shared with the server) draw the
/// samples, and print them at the end (a cancelled run prints nothing on stdout and writes no file).
/// </summary>
static class GenerationRun
{
    // Escapes control characters (C0, C1) and the bidirectional controls, keeps other text readable.
    internal static readonly JsonSerializerOptions Json = new() { Encoder = SafeJsonEncoder.Instance };

    public static int Sample(GenerationOptions o, string? prompt, string? suffix, TextWriter stdout, CancellationToken cancel) =>
        Run(o, new GenerationRequest { Prompt = prompt, Suffix = suffix }, stdout, cancel);

    public static int Infill(GenerationOptions o, string template, TextWriter stdout, CancellationToken cancel) =>
        Run(o, new GenerationRequest { Template = template }, stdout, cancel);

    static int Run(GenerationOptions o, GenerationRequest request, TextWriter stdout, CancellationToken cancel)
    {
        bool jsonl = ParseFormat(o.Format);
        var provider = ExecutionProviders.Parse(o.Provider);
        ThreadCount.Check(o.Threads, "--threads");
        if (o.Batch < 1) throw new SeddException($"--batch must be at least 1, got {o.Batch}", SeddException.Usage);
        if (o.NumSamples is < 1) throw new SeddException($"--num-samples must be at least 1, got {o.NumSamples}", SeddException.Usage);
        if (o.Length != null && o.NPredict != null) throw new SeddException("give either --length (all tokens) or -n/--n-predict (tokens to generate), not both", SeddException.Usage);
        if (o.NPredict is < 1) throw new SeddException($"-n/--n-predict must be at least 1, got {o.NPredict}", SeddException.Usage);
        string? output = o.Output == null ? null : UserFiles.RequirePathArgument(o.Output, "--output");
        if (output != null) CheckOutput(output, o.Force);
        if (o.Batch > SeddGenerator.MaxCount) throw new SeddException($"--batch must lie in 1 … {SeddGenerator.MaxCount:N0}, got {o.Batch}", SeddException.Usage);
        int total = o.NumSamples ?? o.Batch;
        request = request with
        {
            Length = o.Length,
            Steps = o.Steps,
            Sampler = SamplingOptions.Parse(o.Sampler),
            Seed = o.Seed,
            Choice = new TokenChoice(o.Temperature, o.TopK, o.TopP),
            KeepEos = o.KeepEos,
            Overlap = o.Overlap,
        };
        // Every check that needs no model comes before loading one.
        SeddGenerator.CheckSettings(request with { Count = Math.Min(o.Batch, total) });

        using var generator = SeddGenerator.Open(ModelLocator.Open(o.Model), new GeneratorOptions { Provider = provider, Threads = o.Threads });
        var plan = generator.Plan(request with { Count = Math.Min(o.Batch, total) });
        if (o.NPredict is int n)
            plan = generator.Plan(request with { Count = Math.Min(o.Batch, total), Length = plan.FixedTokens + n, Seed = plan.Seed });
        ulong seed = plan.Seed;
        // Once the request is known to run, so that a refused one is a single line.
        if (network(generator) is { } note) Console.Error.WriteLine($"sedd: {note}");

        var results = new List<GenerationResult>();
        using (var display = new StepDisplay(o.ShowSteps, plan))
        {
            for (int first = 0; first < total; first += o.Batch)
            {
                int count = Math.Min(o.Batch, total - first);
                var batchPlan = generator.Plan(plan.Request with { Count = count, FirstIndex = first, Seed = seed, Length = plan.Length });
                results.Add(generator.Generate([batchPlan], null, display, cancel)[0]);
            }
        }

        var text = new StringBuilder();
        foreach (var result in results)
            foreach (var sample in result.Samples)
            {
                if (jsonl) text.Append(JsonLine(generator, result, sample)).Append('\n');
                else
                {
                    if (text.Length > 0) text.Append("---\n");
                    text.Append(TerminalText.Neutralise(sample.Text)).Append('\n');
                }
            }
        if (output != null)
        {
            AtomicFile.WriteAllText(output, text.ToString());
            Console.Error.WriteLine($"sedd: wrote {total} sample{(total == 1 ? "" : "s")} to {TerminalText.Neutralise(output, keepNewlines: false)}");
        }
        else stdout.Write(text.ToString());
        // After the text, so that a cancelled run's only stderr line is the cancellation.
        if (!jsonl) Console.Error.WriteLine($"sedd: seed {seed} (--seed {seed} gives the same text)");
        return 0;

        static string? network(SeddGenerator g) => g.Provider.Requested == ExecutionProvider.Auto && g.Provider.Rejected.Count > 0 && ExecutionProviders.GpuCompiledIn
            ? $"running on the {ExecutionProviders.Name(g.Provider.Provider).ToUpperInvariant()} (no GPU provider could start; --provider cuda says why)"
            : null;
    }

    static string JsonLine(SeddGenerator generator, GenerationResult result, GeneratedSample sample)
    {
        var plan = result.Plan;
        var r = plan.Request;
        var line = new JsonObject
        {
            ["text"] = sample.Text,
            ["completion"] = sample.Completion,
            ["index"] = r.FirstIndex + sample.Index,
            ["seed"] = result.Seed,
            ["steps"] = r.Sampler == Predictor.FirstHitting ? null : r.Steps,
            ["sampler"] = SamplingOptions.Name(r.Sampler),
            ["temperature"] = r.Choice.Temperature,
            ["top_k"] = r.Choice.TopK,
            ["top_p"] = r.Choice.TopP,
            ["provider"] = ExecutionProviders.Name(generator.Provider.Provider),
            ["length"] = plan.Length,
            ["finish_reason"] = sample.FinishName,
            ["prompt_tokens"] = plan.FixedTokens,
            ["completion_tokens"] = sample.CompletionTokens,
            ["windows"] = result.Windows,
            ["seconds"] = Math.Round(result.Elapsed.TotalSeconds, 4),
            ["network_evaluations"] = result.NetworkEvaluations,
            ["row_evaluations"] = result.RowEvaluations,
        };
        return line.ToJsonString(Json);
    }

    static bool ParseFormat(string format) => format.Trim().ToLowerInvariant() switch
    {
        "text" => false,
        "jsonl" => true,
        _ => throw new SeddException($"--format: unknown format '{TerminalText.Neutralise(format, keepNewlines: false)}'; expected text or jsonl", SeddException.Usage),
    };

    static void CheckOutput(string path, bool force)
    {
        var kind = FileKinds.Of(path);
        if (kind == FileKind.Missing)
        {
            // The folder it goes into must exist before anything is sampled.
            var folder = Path.GetDirectoryName(Path.GetFullPath(path));
            var folderKind = folder == null ? FileKind.Directory : FileKinds.Of(folder);
            if (folderKind == FileKind.Missing)
                throw new SeddException($"--output {path}: folder {folder} does not exist; create it first or choose another path", SeddException.Usage);
            if (folderKind != FileKind.Directory)
                throw new SeddException($"--output {path}: {folder} is {FileKinds.Describe(folderKind)}, not a folder", SeddException.Usage);
            return;
        }
        if (kind != FileKind.Regular)
            throw new SeddException($"--output {path} is {FileKinds.Describe(kind)}; expected a new file name", SeddException.Usage);
        if (!force)
            throw new SeddException($"--output {path} already exists; choose another name, or add --force to replace it", SeddException.Usage);
    }
}

