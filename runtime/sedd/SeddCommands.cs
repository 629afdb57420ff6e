using Cocona;
using Cocona.Application;

namespace Sedd.Cli;

/// <summary>Options shared by <c>sample</c> and <c>infill</c>. Names follow llama.cpp and OpenAI where they have one.</summary>
public sealed record GenerationOptions(
    [Option("model", ['m'], Description = "Model package folder (default: $SEDD_MODEL, else the one package in models/)")] string? Model = null,
    [Option("steps", Description = "Denoising steps per window (network calls, plus one final denoising call); not used by first-hitting")] int Steps = 128,
    [Option("length", Description = "Tokens per sample, prompt and suffix included (default: the model's window; longer texts are written window by window)")] int? Length = null,
    [Option("n-predict", ['n'], Description = "Tokens to generate after the prompt (instead of --length)")] int? NPredict = null,
    [Option("batch", Description = "Samples drawn together in one batch")] int Batch = 1,
    [Option("num-samples", Description = "Samples in all, drawn in batches of --batch (default: --batch)")] int? NumSamples = null,
    [Option("seed", ['s'], Description = "Run seed (default: random, printed on stderr). The same seed gives the same text at any --threads and --batch")] ulong? Seed = null,
    [Option("sampler", Description = "analytic, euler, or first-hitting (exact; one network call per generated token)")] string Sampler = "analytic",
    [Option("temperature", Description = "Temperature of the token a masked position takes when it unmasks (1 = the model's)")] double Temperature = 1,
    [Option("top-k", Description = "Only the k most likely tokens when a position unmasks (0 = off)")] int TopK = 0,
    [Option("top-p", Description = "Only the most likely tokens up to this probability mass (1 = off)")] double TopP = 1,
    [Option("overlap", Description = "Long texts: tokens of each window kept as the next one's start (default: a quarter of the window)")] int? Overlap = null,
    [Option("provider", Description = "cpu, cuda, dml or auto (the best one that starts)")] string Provider = "auto",
    [Option("format", Description = "text or jsonl (one JSON object per sample: text, completion, seed, steps, sampler, windows, finish_reason, network_evaluations, ...)")] string Format = "text",
    [Option("output", ['o'], Description = "Write the samples to this file instead of stdout (written whole at the end)")] string? Output = null,
    [Option("force", Description = "Replace an existing --output file")] bool Force = false,
    [Option("show-steps", Description = "Redraw the text after every step, masks as ░ (terminal only)")] bool ShowSteps = false,
    [Option("keep-eos", Description = "Keep writing after an end-of-text token instead of ending the sample there")] bool KeepEos = false,
    [Option("threads", ['t'], Description = "CPU threads for ONNX Runtime and the sampler (0 = one per core)")] int Threads = 0)
    : ICommandParameterSet;

/// <summary>The sedd commands. Each returns its exit code; failures throw <see cref="Runtime.SeddException"/>.</summary>
sealed class SeddCommands(ICoconaAppContextAccessor context)
{
    // Ctrl+C reaches a command through Cocona's context and through SeddApp's own signal handler
    // (registered before the host, so an early Ctrl+C is not lost).
    CancellationTokenSource Link() => CancellationTokenSource.CreateLinkedTokenSource(
        context.Current?.CancellationToken ?? CancellationToken.None, SeddApp.Interrupted);

    [Command("sample", Description = "Generate text; optionally fix a prompt at the start and a suffix at the end. Exit codes: 0 ok, 1 usage, 2 bad input, 3 environment, 130 cancelled.")]
    public int Sample(
        GenerationOptions options,
        [Option("prompt", ['p'], Description = "Text fixed at the start of every sample")] string? prompt = null,
        [Option("prompt-file", ['f'], Description = "UTF-8 file whose text is fixed at the start")] string? promptFile = null,
        [Option("suffix", Description = "Text fixed at the end of every sample")] string? suffix = null)
    {
        if (prompt != null && promptFile != null)
            throw new Runtime.SeddException("give either --prompt or --prompt-file, not both", Runtime.SeddException.Usage);
        if (prompt != null) TextInput.RequireArgument(prompt, "--prompt");
        if (suffix != null) TextInput.RequireArgument(suffix, "--suffix");
        using var cancel = Link();
        var promptText = promptFile != null ? TextInput.ReadFile(promptFile, "--prompt-file", cancel.Token) : prompt;
        return GenerationRun.Sample(options, promptText, suffix, Console.Out, cancel.Token);
    }

    [Command("infill", Description = "Fill the blanks of a template: \"The [MASK:5] sat on the [MASK:2].\" ([MASK] = one token). Prints the filled text.")]
    public int Infill(
        [Argument(Description = "Template with [MASK] / [MASK:n] blanks")] string template,
        GenerationOptions options)
    {
        TextInput.RequireArgument(template, "the template");
        using var cancel = Link();
        return GenerationRun.Infill(options, template, Console.Out, cancel.Token);
    }

    [Command("serve", Description = "Serve the model over HTTP, OpenAI-compatible: POST /v1/completions (streaming, batching), POST /v1/infill, GET /v1/models, /health, /metrics. Ctrl+C or SIGTERM stops it (exit 130).")]
    public int Serve(Cli.Serve.ServeOptions options)
    {
        using var cancel = Link();
        return Cli.Serve.ServeCommand.Run(options, cancel.Token);
    }

    [Command("info", Description = "What a model package holds: graph, noise, length, tokenizer, dimensions, precision, provenance, files.")]
    public int Info(
        [Option("model", ['m'], Description = "Model package folder (default: $SEDD_MODEL, else the one package in models/)")] string? model = null) =>
        InfoCommand.Run(model, Console.Out);

    [Command("bench", Description = "Time the forward pass and sampling steps: ms/forward, GFLOP/s, host share of a step, network and row evaluations with and without caching, managed bytes per step.")]
    public int Bench(
        [Option("model", ['m'], Description = "Model package folder (default: $SEDD_MODEL, else the one package in models/)")] string? model = null,
        [Option("batch-sizes", Description = "Comma-separated batch sizes to measure")] string batchSizes = "1,8",
        [Option("steps", Description = "Denoising steps per measured run")] int steps = 32,
        [Option("provider", Description = "cpu, cuda, dml or auto")] string provider = "auto",
        [Option("threads", ['t'], Description = "ONNX Runtime intra-op threads (0 = one per core)")] int threads = 0)
    {
        using var cancel = Link();
        return BenchCommand.Run(model, batchSizes, steps, provider, threads, Console.Out, cancel.Token);
    }
}
