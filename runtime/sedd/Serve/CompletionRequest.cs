using Sedd.Runtime.Generation;
using Sedd.Runtime.Sampling;

namespace Sedd.Cli.Serve;

/// <summary>Which endpoint a request came to.</summary>
enum CompletionKind
{
    /// <summary><c>POST /v1/completions</c>: prompts, an optional suffix.</summary>
    Completion,

    /// <summary><c>POST /v1/infill</c>: templates with <c>[MASK:n]</c> blanks.</summary>
    Infill,
}

/// <summary>
/// A checked completion or infill request body: OpenAI's fields where OpenAI has them, Sedd's own
/// (steps, sampler, keep_eos, overlap, top_k, stream_interval) beside them.
/// </summary>
sealed record CompletionRequest
{
    /// <summary>The endpoint.</summary>
    public CompletionKind Kind { get; init; }

    /// <summary>The model asked for (null: the one served).</summary>
    public string? Model { get; init; }

    /// <summary>One text per choice set: prompts (a null entry: no prompt), or infill templates.</summary>
    public IReadOnlyList<string?> Texts { get; init; } = [null];

    /// <summary>Text fixed at the end of every sample (completions only).</summary>
    public string? Suffix { get; init; }

    /// <summary>Canvas length in tokens, prompt and suffix included (null: the model's window).</summary>
    public int? MaxTokens { get; init; }

    /// <summary>Samples per prompt.</summary>
    public int N { get; init; } = 1;

    /// <summary>Run seed (null: a random one, reported in the reply).</summary>
    public ulong? Seed { get; init; }

    /// <summary>Answer with Server-Sent Events, one chunk per choice every <see cref="StreamInterval"/> steps.</summary>
    public bool Stream { get; init; }

    /// <summary>Steps between streamed canvases.</summary>
    public int StreamInterval { get; init; } = 1;

    /// <summary>Send a last chunk with the usage (stream_options.include_usage).</summary>
    public bool IncludeUsage { get; init; }

    /// <summary>Prepend the prompt to each choice's text.</summary>
    public bool Echo { get; init; }

    /// <summary>Temperature, top-k and top-p of the token an unmasking position takes.</summary>
    public TokenChoice Choice { get; init; }

    /// <summary>Strings that end a completion where they first occur (not included).</summary>
    public IReadOnlyList<string> Stop { get; init; } = [];

    /// <summary>Denoising steps per window.</summary>
    public int Steps { get; init; } = 128;

    /// <summary>Sampler.</summary>
    public Predictor Sampler { get; init; } = Predictor.Analytic;

    /// <summary>Keep writing after an end-of-text token.</summary>
    public bool KeepEos { get; init; }

    /// <summary>Long generation: tokens of each window kept as the next one's start (null: the default).</summary>
    public int? Overlap { get; init; }

    /// <summary>Choices in the reply: one set of <see cref="N"/> per text.</summary>
    public int Choices => Texts.Count * N;

    /// <summary>The generator's request for text <paramref name="index"/>, with the run's seed.</summary>
    public GenerationRequest ToGeneration(int index, ulong seed) => new()
    {
        Prompt = Kind == CompletionKind.Completion ? Texts[index] : null,
        Suffix = Kind == CompletionKind.Completion ? Suffix : null,
        Template = Kind == CompletionKind.Infill ? Texts[index] : null,
        Length = Kind == CompletionKind.Completion ? MaxTokens : null,
        Steps = Steps,
        Sampler = Sampler,
        Count = N,
        Seed = seed,
        Choice = Choice,
        KeepEos = KeepEos,
        Overlap = Overlap,
    };
}
