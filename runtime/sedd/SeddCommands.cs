using Cocona;
using Cocona.Application;

namespace Sedd.Cli;

/// <summary>Options shared by <c>sample</c> and <c>infill</c>.</summary>
public sealed record GenerationOptions(
    [Option("model", Description = "Model package folder (default: $SEDD_MODEL, else the one package in models/)")] string? Model = null,
    [Option("steps", Description = "Predictor steps (network evaluations, plus one for the final denoiser)")] int Steps = 128,
    [Option("length", Description = "Tokens per sample (default: the model's length; infill: the template's)")] int? Length = null,
    [Option("batch", Description = "Samples drawn together")] int Batch = 1,
    [Option("seed", Description = "Run seed (default: random; printed in jsonl). The same seed gives the same text at any --threads")] ulong? Seed = null,
    [Option("sampler", Description = "euler or analytic (spec §6.3, §6.4)")] string Sampler = "analytic",
    [Option("provider", Description = "cpu, cuda, dml or auto (tries cuda, dml, cpu and says which it took)")] string Provider = "auto",
    [Option("format", Description = "text or jsonl (one JSON object per sample with seed, steps, sampler, provider, length, seconds, network_evaluations)")] string Format = "text",
    [Option("show-steps", Description = "Redraw the canvas after every step (terminal only)")] bool ShowSteps = false,
    [Option("keep-eos", Description = "Keep the whole block instead of cutting each sample at its first end-of-text")] bool KeepEos = false,
    [Option("threads", Description = "CPU threads for ONNX Runtime and the sampler (0 = all cores)")] int Threads = 0)
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
        [Option("prompt", Description = "Text fixed at the start of every sample")] string? prompt = null,
        [Option("prompt-file", Description = "UTF-8 file whose text is fixed at the start")] string? promptFile = null,
        [Option("suffix", Description = "Text fixed at the end of every sample")] string? suffix = null)
    {
        if (prompt != null && promptFile != null)
            throw new Runtime.SeddException("give either --prompt or --prompt-file, not both", Runtime.SeddException.Usage);
        var promptText = promptFile != null ? TextInput.ReadFile(promptFile, "--prompt-file") : prompt;
        using var cancel = Link();
        return GenerationRun.Sample(options, promptText, suffix, Console.Out, cancel.Token);
    }

    [Command("infill", Description = "Fill the blanks of a template: \"The [MASK:5] sat on the [MASK:2].\" ([MASK] = one token). Prints the filled text.")]
    public int Infill(
        [Argument(Description = "Template with [MASK] / [MASK:n] blanks")] string template,
        GenerationOptions options)
    {
        using var cancel = Link();
        return GenerationRun.Infill(options, template, Console.Out, cancel.Token);
    }

    [Command("info", Description = "What a model package holds: graph, noise, length, tokenizer, dimensions, precision, provenance, files.")]
    public int Info(
        [Option("model", Description = "Model package folder (default: $SEDD_MODEL, else the one package in models/)")] string? model = null) =>
        InfoCommand.Run(model, Console.Out);

    [Command("bench", Description = "Time the forward pass and a sampling step: ms/forward, GFLOP/s, host share of a step, evaluations with and without caching, managed bytes per step.")]
    public int Bench(
        [Option("model", Description = "Model package folder (default: $SEDD_MODEL, else the one package in models/)")] string? model = null,
        [Option("batch", Description = "Comma-separated batch sizes")] string batch = "1,8",
        [Option("steps", Description = "Sampling steps per measured run")] int steps = 32,
        [Option("provider", Description = "cpu, cuda, dml or auto")] string provider = "auto",
        [Option("threads", Description = "ONNX Runtime intra-op threads (0 = all cores)")] int threads = 0)
    {
        using var cancel = Link();
        return BenchCommand.Run(model, batch, steps, provider, threads, Console.Out, cancel.Token);
    }
}
