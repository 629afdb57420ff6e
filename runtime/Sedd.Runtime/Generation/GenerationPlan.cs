using Sedd.Runtime.Sampling;
using Sedd.Runtime.Text;

namespace Sedd.Runtime.Generation;

/// <summary>
/// A checked, tokenized request (<see cref="SeddGenerator.Plan"/>): what every window will fix and
/// generate. Requests whose plans have the same <see cref="BatchKey"/> can run in one batch.
/// </summary>
public sealed class GenerationPlan
{
    internal GenerationPlan(GenerationRequest request, ulong seed, int window, int length, int overlap,
        long[] prompt, long[] suffix, InfillTemplate? template)
    {
        Request = request;
        Seed = seed;
        Window = window;
        Length = length;
        Overlap = overlap;
        PromptIds = prompt;
        SuffixIds = suffix;
        Template = template;
    }

    /// <summary>The request as given.</summary>
    public GenerationRequest Request { get; }

    /// <summary>The seed (the request's or a random one).</summary>
    public ulong Seed { get; }

    /// <summary>The model's window (its length).</summary>
    public int Window { get; }

    /// <summary>Tokens per sample, prompt and suffix included (infill: the template's canvas).</summary>
    public int Length { get; }

    /// <summary>Tokens kept from one window to the next in long generation.</summary>
    public int Overlap { get; }

    /// <summary>Prompt token ids.</summary>
    public IReadOnlyList<long> PromptIds { get; }

    /// <summary>Suffix token ids.</summary>
    public IReadOnlyList<long> SuffixIds { get; }

    internal InfillTemplate? Template { get; }

    /// <summary>Whether this is an infill request.</summary>
    public bool IsInfill => Template != null;

    /// <summary>Tokens the request fixes (prompt + suffix, or the template's fixed tokens).</summary>
    public int FixedTokens => Template is { } t ? t.Length - t.Blanks : PromptIds.Count + SuffixIds.Count;

    /// <summary>Tokens to generate per sample (before any end-of-text cut).</summary>
    public int NewTokens => Template is { } t ? t.Blanks : Length - PromptIds.Count - SuffixIds.Count;

    /// <summary>Whether the text is longer than one window.</summary>
    public bool IsLong => Length > Window;

    /// <summary>Windows this plan writes when no sample stops early.</summary>
    public int PlannedWindows
    {
        get
        {
            if (!IsLong) return 1;
            int produced = PromptIds.Count, windows = 0;
            int end = Length - SuffixIds.Count;
            while (produced < end)
            {
                var w = WindowShape.For(this, windows, produced);
                produced += w.Generate;
                windows++;
            }
            return windows;
        }
    }

    /// <summary>Sampler settings every window of this plan uses.</summary>
    public SamplingOptions SamplingOptions(int threads) => new()
    {
        Predictor = Request.Sampler,
        Steps = Request.Steps,
        Threads = threads,
    };

    /// <summary>Plans with equal keys can share a batch: same sampler, steps and first-window canvas.</summary>
    public string BatchKey => $"{SamplingOptionsName}|{Request.Steps}|{WindowShape.For(this, 0, PromptIds.Count).Canvas}";

    string SamplingOptionsName => Sampling.SamplingOptions.Name(Request.Sampler);
}

/// <summary>
/// One window of a sample: <see cref="Context"/> tokens of the text so far fixed at its start,
/// <see cref="Generate"/> new tokens, and the suffix at its end when it is the last window.
/// </summary>
readonly record struct WindowShape(int Context, int Generate, bool Final, int Canvas)
{
    // The window that can finish the sample while keeping at least `overlap` tokens of context (or the
    // whole prompt, in one window) is the final one: it keeps as much context as fits and ends with the
    // suffix. Otherwise window 0 keeps up to window − overlap tokens of the prompt and later windows the
    // last `overlap` tokens, and each writes the rest of the window (leaving at least one token for the
    // final window when there is a suffix, so that the last tokens are written knowing it).
    public static WindowShape For(GenerationPlan plan, int window, int produced)
    {
        int l = plan.Window, suffix = plan.SuffixIds.Count, remaining = plan.Length - suffix - produced;
        int least = plan.IsLong ? Math.Min(produced, plan.Overlap) : produced;
        if (remaining + suffix + least <= l)
        {
            int context = Math.Min(produced, l - remaining - suffix);
            return new WindowShape(context, remaining, true, context + remaining + suffix);
        }
        int keep = Math.Min(produced, window == 0 ? l - plan.Overlap : plan.Overlap);
        int generate = Math.Min(l - keep, remaining - (suffix > 0 ? 1 : 0));
        return new WindowShape(keep, generate, false, keep + generate);
    }
}
