using System.Diagnostics;
using System.Security.Cryptography;
using System.Text;
using Sedd.Runtime.Onnx;
using Sedd.Runtime.Package;
using Sedd.Runtime.Sampling;
using Sedd.Runtime.Text;

namespace Sedd.Runtime.Generation;

/// <summary>Settings of a <see cref="SeddGenerator"/>.</summary>
public sealed record GeneratorOptions
{
    /// <summary>Execution provider (default auto: CUDA, then DirectML, then the CPU).</summary>
    public ExecutionProvider Provider { get; init; } = ExecutionProvider.Auto;

    /// <summary>CPU threads for ONNX Runtime and the sampler (0 = one per core). Default 0.</summary>
    public int Threads { get; init; }

    /// <summary>Exact caching for time-independent networks (default on).</summary>
    public bool CacheScores { get; init; } = true;

    /// <summary>
    /// Threads of the sampler's own row work (drawing tokens), when it should differ from
    /// <see cref="Threads"/> (default: the same). A long-running host that generates many batches sets 1:
    /// every batch's sampler starts its own team of row threads, which ends only when the collector
    /// finalizes the sampler, and a parked row thread can keep its sampler reachable (seen as one leaked
    /// thread and its sampler's buffers per batch in a server).
    /// </summary>
    public int? SamplerThreads { get; init; }
}

/// <summary>
/// The one generation path of Sedd: opens a model package once and turns prompts, suffixes and infill
/// templates into text. The <c>sedd</c> CLI and the server both call it, so sampling, end-of-text
/// handling, long generation and decoding exist once. Thread-safe: calls are serialised (one network
/// session); to run several requests together, pass their plans to one
/// <see cref="Generate(IReadOnlyList{GenerationPlan}, IReadOnlyList{CancellationToken}?, IGenerationObserver?, CancellationToken)"/> call.
/// </summary>
/// <example>
/// <code>
/// using var generator = SeddGenerator.Open("models/sedd-brown-5m");
/// var result = generator.Generate(new GenerationRequest { Prompt = "The jury said", Length = 64, Seed = 7 });
/// Console.WriteLine(result.Samples[0].Text);
/// </code>
/// </example>
public sealed class SeddGenerator : IDisposable
{
    /// <summary>The longest text a request may ask for, in tokens.</summary>
    public const int MaxLength = 1 << 16;

    /// <summary>The most steps a request may ask for per window.</summary>
    public const int MaxSteps = 100_000;

    /// <summary>The most samples a request may ask for.</summary>
    public const int MaxCount = 10_000;

    /// <summary>The longest prompt, suffix or template accepted, in characters.</summary>
    public const int MaxTextChars = 1 << 20;

    readonly object gate = new();
    readonly OnnxScoreNetwork network;
    readonly GeneratorOptions options;

    SeddGenerator(ModelPackage package, OnnxScoreNetwork network, GeneratorOptions options)
    {
        Package = package;
        this.network = network;
        this.options = options;
        Tokenizer = package.CreateTokenizer();
        MaskId = package.Manifest.Graph.MaskId;
    }

    /// <summary>Opens a model package and starts its network.</summary>
    /// <param name="folder">The package folder (checked and checksum-verified).</param>
    /// <param name="options">Provider and threads.</param>
    /// <exception cref="SeddException">A bad package (exit 2) or a provider that cannot start (exit 3).</exception>
    public static SeddGenerator Open(string folder, GeneratorOptions? options = null) => Open(ModelPackage.Open(folder), options);

    /// <summary>Starts the network of an opened package.</summary>
    /// <param name="package">The package.</param>
    /// <param name="options">Provider and threads.</param>
    public static SeddGenerator Open(ModelPackage package, GeneratorOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(package);
        options ??= new GeneratorOptions();
        ThreadCount.Check(options.Threads, "threads");
        if (options.SamplerThreads is int st) ThreadCount.Check(st, "sampler threads");
        var network = OnnxScoreNetwork.Open(package, new OnnxScoreNetworkOptions { Provider = options.Provider, Threads = options.Threads });
        return new SeddGenerator(package, network, options);
    }

    /// <summary>The package.</summary>
    public ModelPackage Package { get; }

    /// <summary>The package's tokenizer.</summary>
    public SeddTokenizer Tokenizer { get; }

    /// <summary>The provider the network runs on, and what auto passed over.</summary>
    public ExecutionProviderChoice Provider => network.Provider;

    /// <summary>The model's window (its length).</summary>
    public int Window => Package.Manifest.Length;

    int? MaskId { get; }

    /// <summary>
    /// The checks of a request that need no model (steps, count, sampler, token choice, valid text), so a
    /// caller can refuse a bad request before it loads one; <see cref="Plan"/> makes them too.
    /// </summary>
    /// <param name="request">The request.</param>
    /// <param name="names">How messages name the settings (default: the CLI's options).</param>
    public static void CheckSettings(GenerationRequest request, ParameterNames? names = null)
    {
        ArgumentNullException.ThrowIfNull(request);
        names ??= ParameterNames.Cli;
        if (request.Steps < 1 || request.Steps > MaxSteps) Fail(names.Steps, $"must lie in 1 … {MaxSteps:N0}, got {request.Steps}");
        if (request.Count < 1 || request.Count > MaxCount) Fail(names.Count, $"must lie in 1 … {MaxCount:N0}, got {request.Count}");
        if (request.FirstIndex < 0) Fail(names.Count, $"first sample index must be ≥ 0, got {request.FirstIndex}");
        if (!Enum.IsDefined(request.Sampler)) Fail(names.Sampler, "must be euler, analytic or first-hitting");
        request.Choice.Validate(names.Temperature, names.TopK, names.TopP);
        CheckText(request.Prompt, names.Prompt);
        CheckText(request.Suffix, names.Suffix);
        CheckText(request.Template, names.Template);
    }

    /// <summary>Checks and tokenizes a request; every problem is a usage error naming the setting (<see cref="SeddException.Param"/>).</summary>
    /// <param name="request">The request.</param>
    /// <param name="names">How messages name the settings (default: the CLI's options).</param>
    public GenerationPlan Plan(GenerationRequest request, ParameterNames? names = null)
    {
        ArgumentNullException.ThrowIfNull(request);
        names ??= ParameterNames.Cli;
        var m = Package.Manifest;
        int window = m.Length;
        CheckSettings(request, names);
        if (request.Sampler == Predictor.FirstHitting && (m.Graph.Type != "absorb" || !m.Model.TimeIndependent))
            Fail(names.Sampler, "first-hitting needs an absorbing model whose network ignores the noise level (time-independent); this one does not: use euler or analytic");
        if (!request.Choice.IsNeutral && m.Graph.Type != "absorb")
            throw new SeddException("temperature, top-k and top-p need an absorbing model (they reshape the token a masked position takes)", SeddException.Usage) { Param = "temperature" };
        ulong seed = request.Seed ?? RandomSeed();

        if (request.Template != null)
        {
            if (request.Prompt != null || request.Suffix != null)
                Fail(names.Template, $"an infill template replaces {names.Prompt} and {names.Suffix}; give one or the other");
            InfillTemplate template;
            // Infilling works within one window: long generation continues text, it does not infill across windows.
            try { template = InfillTemplate.Parse(request.Template, Tokenizer, window); }
            catch (SeddException e) { throw new SeddException(e.Message + (e.Message.Contains("more than the model", StringComparison.Ordinal) ? " (infilling works within one window)" : ""), e.ExitCode) { Param = names.Template }; }
            if (request.Length is int l && l != template.Length)
                Fail(names.Length, $"{l} disagrees with the template, whose canvas is {template.Length} tokens; infill takes its length from the template");
            DiffusionSampler.RequireMemory(request.Count, template.Length, m.Graph.States);
            return new GenerationPlan(request, seed, window, template.Length, 0, [], [], template);
        }

        var prompt = Array.ConvertAll(Tokenizer.Encode(request.Prompt ?? ""), i => (long)i);
        var suffix = Array.ConvertAll(Tokenizer.Encode(request.Suffix ?? ""), i => (long)i);
        int fixedTokens = prompt.Length + suffix.Length;
        int length = request.Length ?? (fixedTokens < window ? window : fixedTokens + window / 2);
        if (length < 1 || length > MaxLength) Fail(names.Length, $"must lie in 1 … {MaxLength:N0} tokens, got {length}");
        if (fixedTokens >= length)
            Fail(names.Length, $"is {length} tokens, but the prompt ({prompt.Length} tokens) and suffix ({suffix.Length} tokens) leave nothing to generate; it counts prompt, generated text and suffix, so raise it above {fixedTokens}");
        int overlap = 0;
        if (length > window)
        {
            int maxOverlap = window - 2 - suffix.Length;
            if (maxOverlap < 1)
                Fail(names.Suffix, $"is {suffix.Length} tokens; text longer than the model's window of {window} needs the suffix to leave room for context and new tokens in the last window (at most {window - 3} tokens)");
            overlap = request.Overlap ?? Math.Min(window / 4, maxOverlap);
            if (overlap < 1 || overlap > maxOverlap)
                Fail(names.Overlap, $"must lie in 1 … {maxOverlap} (the window of {window} tokens minus the suffix and room to write), got {overlap}");
        }
        else if (request.Overlap is int o && (o < 1 || o >= window))
            Fail(names.Overlap, $"must lie in 1 … {window - 1}, got {o}");
        // A request's batch must fit before anything is drawn (the sampler checks again when it allocates).
        DiffusionSampler.RequireMemory(request.Count, Math.Min(length, window), m.Graph.States);
        return new GenerationPlan(request, seed, window, length, overlap, prompt, suffix, null);
    }

    /// <summary>Checks, then generates every sample of one request.</summary>
    /// <param name="request">The request.</param>
    /// <param name="observer">Called after every step (optional).</param>
    /// <param name="cancel">Stops the generation between steps (throws <see cref="OperationCanceledException"/>).</param>
    public GenerationResult Generate(GenerationRequest request, IGenerationObserver? observer = null, CancellationToken cancel = default) =>
        Generate([Plan(request)], null, observer, cancel)[0];

    /// <summary>
    /// Generates several requests together: sequences of every plan run as one batch through the
    /// network where their windows have the same shape and settings, and each sample is exactly what it
    /// would be alone (same seed, same text).
    /// </summary>
    /// <param name="plans">Checked requests.</param>
    /// <param name="planCancels">Per request: cancelled requests stop being sampled and report <see cref="FinishReason.Cancelled"/> (optional).</param>
    /// <param name="observer">Called after every step (optional).</param>
    /// <param name="cancel">Stops everything between steps (throws <see cref="OperationCanceledException"/>).</param>
    public IReadOnlyList<GenerationResult> Generate(IReadOnlyList<GenerationPlan> plans, IReadOnlyList<CancellationToken>? planCancels = null,
        IGenerationObserver? observer = null, CancellationToken cancel = default)
    {
        ArgumentNullException.ThrowIfNull(plans);
        if (planCancels != null && planCancels.Count != plans.Count)
            throw new ArgumentException($"expected {plans.Count} cancellation tokens, got {planCancels.Count}", nameof(planCancels));
        lock (gate)
        {
            var clock = Stopwatch.StartNew();
            var states = new List<SampleState>();
            for (int p = 0; p < plans.Count; p++)
                for (int i = 0; i < plans[p].Request.Count; i++)
                    states.Add(new SampleState(plans[p], p, i));
            var counters = new PlanCounters[plans.Count];
            for (int window = 0; ; window++)
            {
                var running = states.Where(s => !s.Done).ToList();
                if (running.Count == 0) break;
                foreach (var s in running) s.Shape = s.Plan.IsInfill ? default : WindowShape.For(s.Plan, window, s.Text.Count);
                // One batch per window shape and sampler settings; each runs to the end before the next.
                foreach (var group in running.GroupBy(s => (s.Plan.IsInfill ? s.Plan.Length : s.Shape.Canvas, s.Plan.Request.Sampler, s.Plan.Request.Steps)))
                    RunWindow([.. group], window, planCancels, observer, counters, cancel);
            }
            var results = new GenerationResult[plans.Count];
            for (int p = 0; p < plans.Count; p++)
            {
                var samples = states.Where(s => s.PlanIndex == p).Select(Finish).ToList();
                var c = counters[p];
                results[p] = new GenerationResult(plans[p], samples, plans[p].Seed, c.Windows, c.NetworkEvaluations, c.RowEvaluations, c.CachedRows, clock.Elapsed);
            }
            return results;
        }
    }

    void RunWindow(IReadOnlyList<SampleState> group, int window, IReadOnlyList<CancellationToken>? planCancels,
        IGenerationObserver? observer, PlanCounters[] counters, CancellationToken cancel)
    {
        var plan0 = group[0].Plan;
        int length = plan0.IsInfill ? plan0.Length : group[0].Shape.Canvas;
        var m = Package.Manifest;
        var options = plan0.SamplingOptions(ThreadCount.Resolve(this.options.SamplerThreads ?? this.options.Threads)) with { CacheScores = this.options.CacheScores };
        var sampler = new DiffusionSampler(m.CreateGraph(), m.CreateNoise(), network, group.Count, length, options);
        var setups = new SequenceSetup[group.Count];
        for (int b = 0; b < group.Count; b++)
        {
            var s = group[b];
            var plan = s.Plan;
            ulong seed = window == 0 ? plan.Seed : WindowSeed(plan.Seed, window);
            setups[b] = new SequenceSetup(seed, (ulong)(plan.Request.FirstIndex + s.Sample), Projector(s, length), plan.Request.Choice);
        }
        sampler.Reset(setups);
        int steps = options.Predictor == Predictor.FirstHitting ? CountFree(sampler) : options.Steps + 1;
        int step = 0;
        // False once every request of the window is cancelled: its remaining steps would be thrown away.
        bool Observe()
        {
            step++;
            CancelRequests(group, sampler, planCancels);
            observer?.OnStep(new GenerationSnapshot(this, group, sampler.Tokens.ToArray(), length, window, Math.Min(step, steps), steps));
            return planCancels == null || AnyLive(group);
        }
        if (options.Predictor == Predictor.FirstHitting)
        {
            while (sampler.FirstHittingStep(cancel))
                if (!Observe()) break;
        }
        else
        {
            bool live = true;
            for (int i = 0; i < options.Steps && live; i++)
            {
                cancel.ThrowIfCancellationRequested();
                sampler.PredictorStep(i);
                live = Observe();
            }
            cancel.ThrowIfCancellationRequested();
            if (live)
            {
                sampler.DenoiseStep();
                Observe();
            }
        }
        sampler.Project();
        CancelRequests(group, sampler, planCancels);

        var seen = new HashSet<int>();
        for (int b = 0; b < group.Count; b++)
        {
            var s = group[b];
            ref var c = ref counters[s.PlanIndex];
            var (evaluated, cached) = sampler.SequenceEvaluations(b);
            c.RowEvaluations += evaluated;
            c.CachedRows += cached;
            if (seen.Add(s.PlanIndex))
            {
                c.NetworkEvaluations += sampler.NetworkEvaluations;
                c.Windows = Math.Max(c.Windows, window + 1);
            }
            if (s.Finish == FinishReason.Cancelled) continue;
            Absorb(s, sampler.Tokens.Slice(b * length, length));
        }
    }

    static int CountFree(DiffusionSampler sampler)
    {
        int free = 0, mask = ((AbsorbingSamplingGraph)sampler.Graph).Mask;
        for (int b = 0; b < sampler.Batch; b++)
        {
            int n = 0;
            foreach (long t in sampler.Tokens.Slice(b * sampler.Length, sampler.Length)) if (t == mask) n++;
            free = Math.Max(free, n);
        }
        return free;
    }

    static bool AnyLive(IReadOnlyList<SampleState> group)
    {
        for (int b = 0; b < group.Count; b++)
            if (group[b].Finish != FinishReason.Cancelled) return true;
        return false;
    }

    static void CancelRequests(IReadOnlyList<SampleState> group, DiffusionSampler sampler, IReadOnlyList<CancellationToken>? planCancels)
    {
        if (planCancels == null) return;
        for (int b = 0; b < group.Count; b++)
        {
            var s = group[b];
            if (s.Done || !planCancels[s.PlanIndex].IsCancellationRequested) continue;
            s.Done = true;
            s.Finish = FinishReason.Cancelled;
            sampler.Freeze(b);
        }
    }

    // The window's fixed tokens: its context (the end of the text so far) and, in the final window, the suffix.
    static InfillProjector Projector(SampleState s, int length)
    {
        if (s.Plan.Template is { } template) return template.CreateProjector();
        var shape = s.Shape;
        int suffix = shape.Final ? s.Plan.SuffixIds.Count : 0;
        var positions = new int[shape.Context + suffix];
        var ids = new long[positions.Length];
        for (int i = 0; i < shape.Context; i++) (positions[i], ids[i]) = (i, s.Text[s.Text.Count - shape.Context + i]);
        for (int i = 0; i < suffix; i++) (positions[shape.Context + i], ids[shape.Context + i]) = (length - suffix + i, s.Plan.SuffixIds[i]);
        return new InfillProjector(positions, ids);
    }

    // Takes a finished window's new tokens into the sample: an end-of-text token ends it (unless kept).
    void Absorb(SampleState s, ReadOnlySpan<long> canvas)
    {
        int eos = Tokenizer.EosId;
        if (s.Plan.Template != null)
        {
            s.Canvas = canvas.ToArray();
            s.Done = true;
            s.Finish = FinishReason.Length;
            return;
        }
        var generated = canvas.Slice(s.Shape.Context, s.Shape.Generate);
        int cut = s.Plan.Request.KeepEos ? -1 : generated.IndexOf(eos);
        if (cut >= 0)
        {
            foreach (long t in generated[..cut]) s.Text.Add(t);
            s.Done = true;
            s.Finish = FinishReason.Stop;
            return;
        }
        foreach (long t in generated) s.Text.Add(t);
        if (s.Shape.Final)
        {
            s.Done = true;
            s.Finish = FinishReason.Length;
        }
    }

    GeneratedSample Finish(SampleState s)
    {
        var plan = s.Plan;
        if (plan.Template != null)
        {
            var ids = new List<int>();
            int generated = 0;
            var canvas = s.Canvas ?? [];
            for (int i = 0; i < canvas.Length; i++)
            {
                long t = canvas[i];
                bool blank = plan.Template.Canvas[i] == InfillTemplate.Blank;
                if (blank && (t == MaskId || (t == Tokenizer.EosId && !plan.Request.KeepEos))) continue;
                if (blank) generated++;
                ids.Add((int)t);
            }
            var text = Decode(ids);
            return new GeneratedSample(s.Sample, text, text, generated, s.Finish);
        }
        var completion = s.Text.Skip(plan.PromptIds.Count).Select(t => (int)t).ToList();
        var all = s.Text.Select(t => (int)t).Concat(plan.SuffixIds.Select(t => (int)t)).ToList();
        return new GeneratedSample(s.Sample, Decode(all), Decode(completion), completion.Count, s.Finish);
    }

    string Decode(List<int> ids) => Tokenizer.Decode(ids.Where(t => t != MaskId).ToArray());

    /// <summary>Decodes a canvas with masked positions as <paramref name="maskGlyph"/>.</summary>
    /// <param name="canvas">Token ids, masks included.</param>
    /// <param name="maskGlyph">Placeholder for a mask.</param>
    /// <param name="sb">Destination.</param>
    public void RenderCanvas(ReadOnlySpan<long> canvas, string maskGlyph, StringBuilder sb)
    {
        ArgumentNullException.ThrowIfNull(sb);
        var run = new List<int>();
        foreach (long t in canvas)
        {
            if (MaskId is int mask && t == mask)
            {
                Flush();
                sb.Append(maskGlyph);
            }
            else run.Add((int)t);
        }
        Flush();

        void Flush()
        {
            if (run.Count == 0) return;
            sb.Append(Tokenizer.Decode(run.ToArray()));
            run.Clear();
        }
    }

    /// <summary>The seed of window w > 0 of a long text: a hash of the run seed and w (window 0 uses the run seed itself).</summary>
    /// <param name="seed">Run seed.</param>
    /// <param name="window">Window index ≥ 1.</param>
    public static ulong WindowSeed(ulong seed, int window)
    {
        ulong x = seed ^ ((ulong)window * 0xD1B54A32D192ED03UL);
        return Xoshiro256StarStar.SplitMix64(ref x);
    }

    /// <summary>A random seed below 2^53, so that JSON readers that parse numbers as doubles keep it exact.</summary>
    public static ulong RandomSeed()
    {
        Span<byte> bytes = stackalloc byte[8];
        RandomNumberGenerator.Fill(bytes);
        return BitConverter.ToUInt64(bytes) >> 11;
    }

    static void CheckText(string? text, string name)
    {
        if (text == null) return;
        if (text.Length > MaxTextChars) Fail(name, $"has {text.Length:N0} characters; at most {MaxTextChars:N0} are accepted");
        for (int i = 0; i < text.Length; i++)
        {
            if (char.IsHighSurrogate(text[i]) && i + 1 < text.Length && char.IsLowSurrogate(text[i + 1])) { i++; continue; }
            if (char.IsSurrogate(text[i])) Fail(name, $"holds a lone surrogate U+{(int)text[i]:X4} at character {i}; expected well-formed Unicode text", SeddException.BadInput);
        }
    }

    [System.Diagnostics.CodeAnalysis.DoesNotReturn]
    static void Fail(string name, string message, int code = SeddException.Usage) =>
        throw new SeddException($"{name} {message}", code) { Param = name.TrimStart('-') };

    /// <inheritdoc/>
    public void Dispose() => network.Dispose();

    struct PlanCounters
    {
        public int Windows;
        public int NetworkEvaluations;
        public long RowEvaluations;
        public long CachedRows;
    }
}

/// <summary>One sample while it is generated: its text so far and the window being written.</summary>
sealed class SampleState(GenerationPlan plan, int planIndex, int sample)
{
    public GenerationPlan Plan { get; } = plan;

    public int PlanIndex { get; } = planIndex;

    public int Sample { get; } = sample;

    /// <summary>Prompt and generated tokens so far (not the suffix).</summary>
    public List<long> Text { get; } = [.. plan.PromptIds];

    public WindowShape Shape { get; set; }

    public long[]? Canvas { get; set; }

    public bool Done { get; set; }

    public FinishReason Finish { get; set; }
}
