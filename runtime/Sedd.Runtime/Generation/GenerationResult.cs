namespace Sedd.Runtime.Generation;

/// <summary>Why a sample ended.</summary>
public enum FinishReason
{
    /// <summary>It reached its length.</summary>
    Length,

    /// <summary>It generated an end-of-text token and was cut there.</summary>
    Stop,

    /// <summary>Its request was cancelled (the caller disconnected).</summary>
    Cancelled,
}

/// <summary>One generated sample.</summary>
/// <param name="Index">Sample number within its request.</param>
/// <param name="Text">Everything: prompt, completion and suffix (infill: the filled template), decoded.</param>
/// <param name="Completion">The generated text only (infill: the filled template).</param>
/// <param name="CompletionTokens">Generated tokens kept (after the end-of-text cut).</param>
/// <param name="Finish">Why it ended.</param>
public sealed record GeneratedSample(int Index, string Text, string Completion, int CompletionTokens, FinishReason Finish)
{
    /// <summary>OpenAI's finish_reason: "stop" at end of text, else "length".</summary>
    public string FinishName => Finish == FinishReason.Stop ? "stop" : Finish == FinishReason.Cancelled ? "cancelled" : "length";
}

/// <summary>What one request produced and what it cost.</summary>
/// <param name="Plan">The checked request.</param>
/// <param name="Samples">One per requested sample, in order.</param>
/// <param name="Seed">The seed used (the request's, or the random one drawn).</param>
/// <param name="Windows">Windows written (1 unless the length exceeds the model's window).</param>
/// <param name="NetworkEvaluations">Network passes the request's sequences took part in (steps with an evaluation, summed over windows).</param>
/// <param name="RowEvaluations">Sequences of this request evaluated by the network, summed over steps.</param>
/// <param name="CachedRows">Sequence evaluations of this request saved by exact caching.</param>
/// <param name="Elapsed">Wall time of the sampling.</param>
public sealed record GenerationResult(GenerationPlan Plan, IReadOnlyList<GeneratedSample> Samples, ulong Seed, int Windows,
    int NetworkEvaluations, long RowEvaluations, long CachedRows, TimeSpan Elapsed)
{
    /// <summary>Prompt (and suffix or template) tokens: what the request fixed.</summary>
    public int PromptTokens => Plan.FixedTokens;

    /// <summary>Generated tokens over all samples.</summary>
    public int CompletionTokens => Samples.Sum(s => s.CompletionTokens);
}
