using System.Security.Cryptography;
using System.Text.Json;
using Sedd.Runtime.Sampling;
using Sedd.Runtime.Text;

namespace Sedd.Cli.Serve;

/// <summary>One finished choice as the reply gives it.</summary>
/// <param name="Index">Choice index: prompt index × n + sample number.</param>
/// <param name="Text">The completion (with echo, the prompt before it; infill: the filled template).</param>
/// <param name="FinishReason">"stop" (end of text or a stop string) or "length".</param>
/// <param name="CompletionTokens">Generated tokens returned.</param>
readonly record struct FinalChoice(int Index, string Text, string FinishReason, int CompletionTokens);

/// <summary>
/// OpenAI's <c>text_completion</c> objects for a request: the whole reply, and the chunks of a stream
/// (one per choice and streamed step, the final one per choice, the usage). Every object carries the
/// same id, creation time and model; the reply adds a <c>sedd</c> object with the run's seed and cost.
/// </summary>
sealed class CompletionReply(GenerationJob job, string model)
{
    /// <summary>"cmpl-" and 24 random hex digits.</summary>
    public string Id { get; } = "cmpl-" + Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(12));

    /// <summary>Unix seconds.</summary>
    public long Created { get; } = DateTimeOffset.UtcNow.ToUnixTimeSeconds();

    /// <summary>The finished choices (the job must have completed), stop strings applied.</summary>
    public IReadOnlyList<FinalChoice> Finals(SeddTokenizer tokenizer)
    {
        var r = job.Request;
        var choices = new List<FinalChoice>();
        foreach (var (index, piece, sample) in job.Samples())
        {
            var text = sample.Completion;
            var finish = sample.FinishName;
            int tokens = sample.CompletionTokens;
            if (r.Stop.Count > 0)
            {
                var (cut, stopped) = StopSequences.Apply(text, r.Stop);
                if (stopped)
                {
                    text = cut;
                    finish = "stop";
                    tokens = tokenizer.Encode(cut).Length;
                }
            }
            if (r.Echo && r.Kind == CompletionKind.Completion) text = (r.Texts[piece.Text] ?? "") + text;
            choices.Add(new FinalChoice(index, text, finish, tokens));
        }
        return choices;
    }

    /// <summary>The whole reply of a request that does not stream.</summary>
    public void WriteCompletion(Utf8JsonWriter w, IReadOnlyList<FinalChoice> finals)
    {
        w.WriteStartObject();
        WriteHeader(w);
        w.WriteStartArray("choices");
        foreach (var c in finals) WriteChoice(w, c.Index, c.Text, c.FinishReason);
        w.WriteEndArray();
        WriteUsage(w, finals);
        WriteSedd(w);
        w.WriteEndObject();
    }

    /// <summary>A streamed canvas of one choice (finish_reason null).</summary>
    public void WriteStepChunk(Utf8JsonWriter w, StepUpdate update)
    {
        w.WriteStartObject();
        WriteHeader(w);
        w.WriteStartArray("choices");
        WriteChoice(w, update.Choice, update.Text, null);
        w.WriteEndArray();
        w.WriteStartObject("sedd");
        w.WriteNumber("window", update.Window);
        w.WriteNumber("step", update.Step);
        w.WriteNumber("steps", update.Steps);
        w.WriteEndObject();
        w.WriteEndObject();
    }

    /// <summary>The last chunk of one choice: its final text and finish_reason.</summary>
    public void WriteFinalChunk(Utf8JsonWriter w, FinalChoice c, bool withSedd)
    {
        w.WriteStartObject();
        WriteHeader(w);
        w.WriteStartArray("choices");
        WriteChoice(w, c.Index, c.Text, c.FinishReason);
        w.WriteEndArray();
        if (withSedd) WriteSedd(w);
        w.WriteEndObject();
    }

    /// <summary>OpenAI's usage chunk (stream_options.include_usage): no choices, the usage.</summary>
    public void WriteUsageChunk(Utf8JsonWriter w, IReadOnlyList<FinalChoice> finals)
    {
        w.WriteStartObject();
        WriteHeader(w);
        w.WriteStartArray("choices");
        w.WriteEndArray();
        WriteUsage(w, finals);
        w.WriteEndObject();
    }

    void WriteHeader(Utf8JsonWriter w)
    {
        w.WriteString("id", Id);
        w.WriteString("object", "text_completion");
        w.WriteNumber("created", Created);
        w.WriteString("model", model);
    }

    static void WriteChoice(Utf8JsonWriter w, int index, string text, string? finish)
    {
        w.WriteStartObject();
        w.WriteString("text", text);
        w.WriteNumber("index", index);
        w.WriteNull("logprobs");
        if (finish != null) w.WriteString("finish_reason", finish);
        else w.WriteNull("finish_reason");
        w.WriteEndObject();
    }

    void WriteUsage(Utf8JsonWriter w, IReadOnlyList<FinalChoice> finals)
    {
        // Prompt tokens count once per prompt, whatever n (as OpenAI counts them).
        int prompt = job.Pieces.GroupBy(p => p.Text).Sum(g => g.First().Result!.PromptTokens);
        int completion = finals.Sum(c => c.CompletionTokens);
        w.WriteStartObject("usage");
        w.WriteNumber("prompt_tokens", prompt);
        w.WriteNumber("completion_tokens", completion);
        w.WriteNumber("total_tokens", prompt + completion);
        w.WriteEndObject();
    }

    void WriteSedd(Utf8JsonWriter w)
    {
        var r = job.Request;
        var results = job.Pieces.Select(p => p.Result!).ToList();
        w.WriteStartObject("sedd");
        w.WriteNumber("seed", job.Seed);
        if (r.Sampler == Predictor.FirstHitting) w.WriteNull("steps");
        else w.WriteNumber("steps", r.Steps);
        w.WriteString("sampler", SamplingOptions.Name(r.Sampler));
        w.WriteNumber("windows", results.Max(x => x.Windows));
        // Pieces that ran in one batch share its network passes.
        w.WriteNumber("network_evaluations", job.Pieces.GroupBy(p => (p.Batch, p.Key)).Sum(g => g.Max(p => p.Result!.NetworkEvaluations)));
        w.WriteNumber("row_evaluations", results.Sum(x => x.RowEvaluations));
        w.WriteNumber("cached_rows", results.Sum(x => x.CachedRows));
        w.WriteNumber("max_tokens", results[0].Plan.Length);
        w.WriteEndObject();
    }
}
