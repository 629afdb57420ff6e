using System.Text;

namespace Sedd.Runtime.Generation;

/// <summary>Receives the state of a generation after every step (streaming, progress displays).</summary>
public interface IGenerationObserver
{
    /// <summary>Called after every step of every window, on the generating thread.</summary>
    /// <param name="snapshot">The current canvases; valid during the call only.</param>
    void OnStep(GenerationSnapshot snapshot);
}

/// <summary>
/// The sequences being sampled at one moment: which request and sample each belongs to and its text so
/// far, with masked positions shown as a placeholder.
/// </summary>
public sealed class GenerationSnapshot
{
    readonly SeddGenerator generator;
    readonly IReadOnlyList<SampleState> states;
    readonly long[] tokens;
    readonly int length;

    internal GenerationSnapshot(SeddGenerator generator, IReadOnlyList<SampleState> states, long[] tokens, int length, int window, int step, int steps)
    {
        this.generator = generator;
        this.states = states;
        this.tokens = tokens;
        this.length = length;
        Window = window;
        Step = step;
        Steps = steps;
    }

    /// <summary>Window being written (0 for text that fits one window).</summary>
    public int Window { get; }

    /// <summary>Steps done in this window (1 … <see cref="Steps"/>).</summary>
    public int Step { get; }

    /// <summary>Steps this window takes (the predictor steps plus the final denoiser; first-hitting: the masked positions).</summary>
    public int Steps { get; }

    /// <summary>Sequences in this batch.</summary>
    public int Sequences => states.Count;

    /// <summary>Index of the request (in the list given to <see cref="SeddGenerator.Generate(IReadOnlyList{GenerationPlan}, IReadOnlyList{CancellationToken}?, IGenerationObserver?, CancellationToken)"/>) sequence <paramref name="sequence"/> belongs to.</summary>
    /// <param name="sequence">Sequence index.</param>
    public int PlanOf(int sequence) => states[sequence].PlanIndex;

    /// <summary>Sample number of sequence <paramref name="sequence"/> within its request.</summary>
    /// <param name="sequence">Sequence index.</param>
    public int SampleOf(int sequence) => states[sequence].Sample;

    /// <summary>The generated text so far, masks as <paramref name="maskGlyph"/> (without prompt and suffix; infill: the whole template).</summary>
    /// <param name="sequence">Sequence index.</param>
    /// <param name="maskGlyph">Placeholder for a masked token.</param>
    public string RenderCompletion(int sequence, string maskGlyph = "░") => Render(sequence, maskGlyph, completionOnly: true);

    /// <summary>Prompt, generated text so far and suffix, masks as <paramref name="maskGlyph"/>.</summary>
    /// <param name="sequence">Sequence index.</param>
    /// <param name="maskGlyph">Placeholder for a masked token.</param>
    public string RenderText(int sequence, string maskGlyph = "░") => Render(sequence, maskGlyph, completionOnly: false);

    string Render(int sequence, string maskGlyph, bool completionOnly)
    {
        var s = states[sequence];
        var canvas = tokens.AsSpan(sequence * length, length);
        var sb = new StringBuilder();
        if (s.Plan.IsInfill)
        {
            generator.RenderCanvas(canvas, maskGlyph, sb);
            return sb.ToString();
        }
        int promptCount = s.Plan.PromptIds.Count;
        var before = completionOnly ? s.Text.Skip(promptCount).ToList() : s.Text;
        // The window's context repeats the end of the text so far; show the text, then the new part.
        generator.RenderCanvas([.. before], maskGlyph, sb);
        int suffixInCanvas = s.Shape.Final ? s.Plan.SuffixIds.Count : 0;
        generator.RenderCanvas(canvas.Slice(s.Shape.Context, s.Shape.Generate), maskGlyph, sb);
        if (!completionOnly)
        {
            if (suffixInCanvas > 0) generator.RenderCanvas(canvas[^suffixInCanvas..], maskGlyph, sb);
            else if (s.Plan.SuffixIds.Count > 0) generator.RenderCanvas([.. s.Plan.SuffixIds], maskGlyph, sb);
        }
        return sb.ToString();
    }
}
