using System.Diagnostics;
using System.Security.Cryptography;
using System.Text.Encodings.Web;
using System.Text.Json;
using System.Text.Json.Nodes;
using Sedd.Runtime;
using Sedd.Runtime.Onnx;
using Sedd.Runtime.Package;
using Sedd.Runtime.Sampling;
using Sedd.Runtime.Text;

namespace Sedd.Cli;

/// <summary>
/// <c>sedd sample</c> and <c>sedd infill</c>: check the options, open the package and its network,
/// run the sampler of spec §6.1 with the conditioning of §6.6, and print every sample at the end (a
/// cancelled run prints nothing on stdout).
/// </summary>
static class GenerationRun
{
    static readonly JsonSerializerOptions Json = new() { Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping };

    sealed record Settings(Predictor Predictor, ExecutionProvider Provider, bool Jsonl);

    public static int Sample(GenerationOptions o, string? prompt, string? suffix, TextWriter stdout, CancellationToken cancel)
    {
        var settings = Check(o);
        if (prompt != null) TextInput.RequireWellFormed(prompt, "the prompt");
        if (suffix != null) TextInput.RequireWellFormed(suffix, "--suffix");
        var package = ModelLocator.Open(o.Model);
        int length = o.Length ?? package.Manifest.Length;
        CheckLength(length, package.Manifest.Length);
        var tokenizer = package.CreateTokenizer();
        var prefixIds = Array.ConvertAll(tokenizer.Encode(prompt ?? ""), i => (long)i);
        var suffixIds = Array.ConvertAll(tokenizer.Encode(suffix ?? ""), i => (long)i);
        if (prefixIds.Length + suffixIds.Length >= length)
            throw new SeddException($"the prompt ({prefixIds.Length} tokens) and suffix ({suffixIds.Length} tokens) need at least one free position in {length}; raise --length (model: {package.Manifest.Length}) or shorten them", SeddException.Usage);
        var projector = InfillProjector.Affix(prefixIds, suffixIds, length);
        int free = length - suffixIds.Length;
        return Generate(package, tokenizer, o, settings, length, projector, stdout, cancel, sample =>
        {
            // Documents end at EOS: cut the generated stretch there, keep the fixed suffix.
            if (o.KeepEos) return sample;
            int eos = Array.IndexOf(sample, tokenizer.EosId, prefixIds.Length, free - prefixIds.Length);
            return eos < 0 ? sample : [.. sample.AsSpan(0, eos), .. sample.AsSpan(free)];
        });
    }

    public static int Infill(GenerationOptions o, string template, TextWriter stdout, CancellationToken cancel)
    {
        var settings = Check(o);
        TextInput.RequireWellFormed(template, "the template");
        var package = ModelLocator.Open(o.Model);
        if (o.Length is int l) CheckLength(l, package.Manifest.Length);
        var tokenizer = package.CreateTokenizer();
        var parsed = InfillTemplate.Parse(template, tokenizer, package.Manifest.Length);
        if (o.Length is int requested && requested != parsed.Length)
            throw new SeddException($"--length {requested} disagrees with the template, whose canvas is {parsed.Length} tokens; infill takes its length from the template", SeddException.Usage);
        return Generate(package, tokenizer, o, settings, parsed.Length, parsed.CreateProjector(), stdout, cancel, sample =>
        {
            // An EOS in a blank means "nothing here"; fixed tokens never are EOS (text never encodes to it).
            if (o.KeepEos) return sample;
            return Array.FindAll(sample, id => id != tokenizer.EosId);
        });
    }

    static Settings Check(GenerationOptions o)
    {
        if (o.Steps <= 0) throw new SeddException($"--steps must be at least 1, got {o.Steps}", SeddException.Usage);
        if (o.Batch <= 0) throw new SeddException($"--batch must be at least 1, got {o.Batch}", SeddException.Usage);
        if (o.Length is <= 0) throw new SeddException($"--length must be at least 1, got {o.Length}", SeddException.Usage);
        if (o.Threads < 0) throw new SeddException($"--threads must be ≥ 0 (0 = all cores), got {o.Threads}", SeddException.Usage);
        var predictor = o.Sampler.Trim().ToLowerInvariant() switch
        {
            "analytic" => Predictor.Analytic,
            "euler" => Predictor.Euler,
            _ => throw new SeddException($"unknown sampler '{o.Sampler}' (expected euler or analytic)", SeddException.Usage),
        };
        var format = o.Format.Trim().ToLowerInvariant();
        if (format is not ("text" or "jsonl")) throw new SeddException($"unknown format '{o.Format}' (expected text or jsonl)", SeddException.Usage);
        return new Settings(predictor, ExecutionProviders.Parse(o.Provider), format == "jsonl");
    }

    static void CheckLength(int length, int modelLength)
    {
        if (length <= 0 || length > modelLength)
            throw new SeddException($"--length must lie in 1 … {modelLength} (the model's length), got {length}", SeddException.Usage);
    }

    static int Generate(ModelPackage package, SeddTokenizer tokenizer, GenerationOptions o, Settings settings, int length,
        InfillProjector projector, TextWriter stdout, CancellationToken cancel, Func<int[], int[]> finish)
    {
        var manifest = package.Manifest;
        ulong seed = o.Seed ?? RandomSeed();
        using var network = OnnxScoreNetwork.Open(package, new OnnxScoreNetworkOptions { Provider = settings.Provider, Threads = o.Threads });
        if (network.Provider.Rejected.Count > 0) Console.Error.WriteLine($"sedd: {network.Provider.Describe()}");
        var options = new SamplingOptions { Predictor = settings.Predictor, Steps = o.Steps, Threads = o.Threads };
        var sampler = new DiffusionSampler(manifest.CreateGraph(), manifest.CreateNoise(), network, o.Batch, length, options, projector);

        using var display = new StepDisplay(tokenizer, manifest.Graph.MaskId, length, o.ShowSteps, o.Steps + 1);
        var clock = Stopwatch.StartNew();
        sampler.Reset(seed);
        for (int i = 0; i < o.Steps; i++)
        {
            cancel.ThrowIfCancellationRequested();
            sampler.PredictorStep(i, seed);
            display.Step(i + 1, sampler.Tokens[..length]);
        }
        cancel.ThrowIfCancellationRequested();
        sampler.DenoiseStep(seed);
        sampler.Project();
        display.Step(o.Steps + 1, sampler.Tokens[..length]);
        double seconds = clock.Elapsed.TotalSeconds;
        display.Finish();

        var texts = new string[o.Batch];
        for (int b = 0; b < o.Batch; b++)
        {
            var ids = sampler.Tokens.Slice(b * length, length).ToArray();
            texts[b] = tokenizer.Decode(finish(Array.ConvertAll(ids, id => (int)id)));
        }
        for (int b = 0; b < o.Batch; b++)
        {
            if (settings.Jsonl)
            {
                var line = new JsonObject
                {
                    ["text"] = texts[b],
                    ["index"] = b,
                    ["seed"] = seed,
                    ["steps"] = o.Steps,
                    ["sampler"] = settings.Predictor == Predictor.Euler ? "euler" : "analytic",
                    ["provider"] = ExecutionProviders.Name(network.Provider.Provider),
                    ["length"] = length,
                    ["seconds"] = Math.Round(seconds, 4),
                    ["network_evaluations"] = sampler.NetworkEvaluations,
                };
                stdout.WriteLine(line.ToJsonString(Json));
            }
            else
            {
                if (b > 0) stdout.WriteLine("---");
                stdout.WriteLine(texts[b]);
            }
        }
        return 0;
    }

    // Below 2^53 so that JSON readers that parse numbers as doubles keep it exact.
    static ulong RandomSeed()
    {
        Span<byte> bytes = stackalloc byte[8];
        RandomNumberGenerator.Fill(bytes);
        return BitConverter.ToUInt64(bytes) >> 11;
    }
}
