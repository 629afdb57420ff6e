using Sedd.Runtime.Sampling;

namespace Sedd.Runtime.Generation;

/// <summary>
/// What to generate: free text (optionally after a prompt and before a suffix) or the blanks of an
/// infill template, with the sampler settings. The CLI's options and the server's request fields map
/// onto it one to one; <see cref="SeddGenerator.Plan"/> checks it.
/// </summary>
public sealed record GenerationRequest
{
    /// <summary>Text fixed at the start of every sample (default none).</summary>
    public string? Prompt { get; init; }

    /// <summary>Text fixed at the end of every sample (default none).</summary>
    public string? Suffix { get; init; }

    /// <summary>
    /// An infill template instead of prompt and suffix: fixed text with blanks <c>[MASK]</c> (one token)
    /// and <c>[MASK:n]</c> (n tokens). The canvas length is the template's; it must fit the model's window.
    /// </summary>
    public string? Template { get; init; }

    /// <summary>
    /// Tokens per sample, counting the prompt and suffix (default: the model's window). Above the
    /// window the text is written window by window, each new window keeping the last
    /// <see cref="Overlap"/> tokens of the previous one as its fixed start.
    /// </summary>
    public int? Length { get; init; }

    /// <summary>Predictor steps per window (network calls, plus one for the final denoiser). Default 128. Ignored by first-hitting.</summary>
    public int Steps { get; init; } = 128;

    /// <summary>Sampler: analytic (default), euler or first-hitting.</summary>
    public Predictor Sampler { get; init; } = Predictor.Analytic;

    /// <summary>Samples to draw, ≥ 1. Default 1.</summary>
    public int Count { get; init; } = 1;

    /// <summary>
    /// Sample number of the first sample (default 0): sample i of a request draws from the stream
    /// (seed, <see cref="FirstIndex"/> + i), so samples drawn in several batches equal those drawn at once.
    /// </summary>
    public int FirstIndex { get; init; }

    /// <summary>Run seed (default: a random one, reported in the result). The same seed gives the same text.</summary>
    public ulong? Seed { get; init; }

    /// <summary>Token choice at positions that unmask: temperature, top-k, top-p (default: the model's distribution).</summary>
    public TokenChoice Choice { get; init; }

    /// <summary>Keep everything after an end-of-text token instead of ending the sample there. Default off.</summary>
    public bool KeepEos { get; init; }

    /// <summary>Long generation: tokens of the previous window kept as the next window's fixed start (default a quarter of the window).</summary>
    public int? Overlap { get; init; }
}

/// <summary>How front-ends name the request's settings in messages (<c>--length</c> on the CLI, <c>max_tokens</c> in the API).</summary>
public sealed record ParameterNames(string Prompt, string Suffix, string Template, string Length, string Steps, string Sampler,
    string Count, string Seed, string Overlap)
{
    /// <summary>How messages name the temperature.</summary>
    public string Temperature { get; init; } = "temperature";

    /// <summary>How messages name top-k.</summary>
    public string TopK { get; init; } = "top_k";

    /// <summary>How messages name top-p.</summary>
    public string TopP { get; init; } = "top_p";

    /// <summary>The <c>sedd</c> CLI's option names.</summary>
    public static ParameterNames Cli { get; } = new("--prompt", "--suffix", "the template", "--length", "--steps", "--sampler", "--num-samples", "--seed", "--overlap")
    {
        Temperature = "--temperature", TopK = "--top-k", TopP = "--top-p",
    };

    /// <summary>The HTTP API's field names.</summary>
    public static ParameterNames Api { get; } = new("prompt", "suffix", "template", "max_tokens", "steps", "sampler", "n", "seed", "overlap");
}
