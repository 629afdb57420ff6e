using System.Text.Json;
using Sedd.Runtime;
using Sedd.Runtime.Sampling;

namespace Sedd.Cli.Serve;

/// <summary>
/// Turns a request body into a <see cref="CompletionRequest"/>, field by field: a wrong type, a value out
/// of range or an unknown field is a 400 naming the field (a misspelt "step" must not silently become the
/// default). Explicit nulls mean the default, as in OpenAI's API. OpenAI fields that a diffusion model
/// cannot honour are accepted only at their neutral value (logprobs, penalties, logit_bias, best_of).
/// </summary>
static class CompletionRequestReader
{
    /// <summary>The most samples per prompt (OpenAI's limit).</summary>
    public const int MaxN = 128;

    /// <summary>The most prompts (or templates) in one request.</summary>
    public const int MaxTexts = 64;

    /// <summary>The most choices (prompts × n) in one request.</summary>
    public const int MaxChoices = 256;

    /// <summary>The most stop strings, and the longest one.</summary>
    public const int MaxStops = 4, MaxStopChars = 256;

    static readonly string[] CompletionFields =
    [
        "model", "prompt", "suffix", "max_tokens", "n", "seed", "stream", "stream_options", "stream_interval", "echo", "temperature",
        "top_p", "top_k", "stop", "user", "steps", "sampler", "keep_eos", "overlap", "logprobs", "best_of", "presence_penalty",
        "frequency_penalty", "logit_bias",
    ];

    static readonly string[] InfillFields =
    [
        "model", "template", "n", "seed", "stream", "stream_options", "stream_interval", "temperature", "top_p", "top_k", "user",
        "steps", "sampler", "keep_eos",
    ];

    /// <summary>Reads <paramref name="root"/> as a request to <paramref name="kind"/>.</summary>
    public static CompletionRequest Read(JsonElement root, CompletionKind kind)
    {
        if (root.ValueKind != JsonValueKind.Object)
            throw new ApiException(400, $"the request body must be a JSON object, got {Describe(root)}", code: "invalid_type");
        var known = kind == CompletionKind.Completion ? CompletionFields : InfillFields;
        var r = new CompletionRequest { Kind = kind };
        double temperature = 1, topP = 1;
        int topK = 0;
        bool textGiven = false;
        foreach (var p in root.EnumerateObject())
        {
            string name = p.Name;
            if (!known.Contains(name, StringComparer.Ordinal))
                throw new ApiException(400, $"unknown field '{ApiErrors.OneLine(Clip(name))}'; {(kind == CompletionKind.Completion ? "/v1/completions" : "/v1/infill")} accepts {string.Join(", ", known)}", Clip(name), "unknown_field");
            var v = p.Value;
            if (v.ValueKind == JsonValueKind.Null) continue;
            switch (name)
            {
                case "model": r = r with { Model = String(v, name) }; break;
                case "prompt": r = r with { Texts = Texts(v, name) }; textGiven = true; break;
                case "template": r = r with { Texts = Texts(v, name) }; textGiven = true; break;
                case "suffix": r = r with { Suffix = String(v, name) }; break;
                case "max_tokens": r = r with { MaxTokens = Int(v, name, 1, int.MaxValue) }; break;
                case "n": r = r with { N = Int(v, name, 1, MaxN) }; break;
                case "seed": r = r with { Seed = Seed(v, name) }; break;
                case "stream": r = r with { Stream = Bool(v, name) }; break;
                case "stream_options": r = r with { IncludeUsage = StreamOptions(v, name) }; break;
                case "stream_interval": r = r with { StreamInterval = Int(v, name, 1, 100_000) }; break;
                case "echo": r = r with { Echo = Bool(v, name) }; break;
                case "temperature": temperature = Number(v, name); break;
                case "top_p": topP = Number(v, name); break;
                // -1 is vLLM's "off", 0 llama.cpp's and Sedd's.
                case "top_k": topK = Math.Max(0, Int(v, name, -1, int.MaxValue)); break;
                case "stop": r = r with { Stop = Stops(v, name) }; break;
                case "user": String(v, name); break;
                case "steps": r = r with { Steps = Int(v, name, 1, int.MaxValue) }; break;
                case "sampler": r = r with { Sampler = Sampler(v, name) }; break;
                case "keep_eos": r = r with { KeepEos = Bool(v, name) }; break;
                case "overlap": r = r with { Overlap = Int(v, name, 1, int.MaxValue) }; break;
                case "logprobs": Neutral(v, name, v.ValueKind == JsonValueKind.Number && v.TryGetInt32(out int lp) && lp == 0, "log-probabilities are not available from a diffusion model"); break;
                case "best_of": Neutral(v, name, v.ValueKind == JsonValueKind.Number && v.TryGetInt32(out int b) && b == 1, "best_of needs likelihoods, which a diffusion model does not give per sample"); break;
                case "presence_penalty" or "frequency_penalty": Neutral(v, name, v.ValueKind == JsonValueKind.Number && v.GetDouble() == 0, "penalties depend on the order tokens are written, which diffusion does not have"); break;
                case "logit_bias": Neutral(v, name, v.ValueKind == JsonValueKind.Object && !v.EnumerateObject().Any(), "logit_bias is not supported"); break;
            }
        }
        if (kind == CompletionKind.Infill && !textGiven)
            throw new ApiException(400, "template is required: text with [MASK] (one token) or [MASK:n] (n tokens) blanks", "template", "missing_field");
        if (r.Choices > MaxChoices)
            throw new ApiException(400, $"{r.Texts.Count} {(kind == CompletionKind.Completion ? "prompts" : "templates")} × n = {r.N} asks for {r.Choices} choices; at most {MaxChoices} per request", "n", "invalid_value");
        // OpenAI's temperature 0 asks for the most likely token; the sampler's coldest setting does that.
        if (temperature == 0) temperature = 1e-3;
        return r with { Choice = new TokenChoice(temperature, topK, topP) };
    }

    static string String(JsonElement v, string name)
    {
        if (v.ValueKind != JsonValueKind.String) throw TypeError(name, "a string", v);
        return GetString(v, name);
    }

    static string GetString(JsonElement v, string name)
    {
        try { return v.GetString()!; }
        catch (InvalidOperationException)
        {
            throw new ApiException(400, $"{name} is not valid UTF-8 or holds a lone surrogate escape; expected well-formed Unicode text", name, "invalid_value");
        }
    }

    static string?[] Texts(JsonElement v, string name)
    {
        if (v.ValueKind == JsonValueKind.String) return [GetString(v, name)];
        if (v.ValueKind != JsonValueKind.Array) throw TypeError(name, "a string or an array of strings", v);
        int count = v.GetArrayLength();
        if (count == 0) throw new ApiException(400, $"{name} is an empty array; give at least one text", name, "invalid_value");
        if (count > MaxTexts) throw new ApiException(400, $"{name} holds {count} texts; at most {MaxTexts} per request", name, "invalid_value");
        var texts = new string?[count];
        int i = 0;
        foreach (var e in v.EnumerateArray())
        {
            if (e.ValueKind is JsonValueKind.Number or JsonValueKind.Array)
                throw new ApiException(400, $"{name} as token ids is not accepted; send text", name, "invalid_type");
            if (e.ValueKind != JsonValueKind.String) throw TypeError($"{name}[{i}]", "a string", e, name);
            texts[i++] = GetString(e, name);
        }
        return texts;
    }

    static int Int(JsonElement v, string name, int min, int max)
    {
        if (v.ValueKind != JsonValueKind.Number) throw TypeError(name, "an integer", v);
        if (!v.TryGetInt64(out long x))
        {
            // 5.0 is an integer written as a number with a fraction; 5.5 is not.
            double d = v.GetDouble();
            if (d != Math.Floor(d) || Math.Abs(d) > long.MaxValue) throw new ApiException(400, $"{name} must be an integer, got {Raw(v)}", name, "invalid_type");
            x = (long)d;
        }
        if (x < min || x > max)
            throw new ApiException(400, max == int.MaxValue ? $"{name} must be ≥ {min}, got {x}" : $"{name} must lie in {min} … {max}, got {x}", name, "invalid_value");
        return (int)x;
    }

    static double Number(JsonElement v, string name)
    {
        if (v.ValueKind != JsonValueKind.Number) throw TypeError(name, "a number", v);
        double d = v.GetDouble();
        if (!double.IsFinite(d)) throw new ApiException(400, $"{name} must be a finite number", name, "invalid_value");
        return d;
    }

    static bool Bool(JsonElement v, string name) => v.ValueKind switch
    {
        JsonValueKind.True => true,
        JsonValueKind.False => false,
        _ => throw TypeError(name, "true or false", v),
    };

    static ulong Seed(JsonElement v, string name)
    {
        if (v.ValueKind != JsonValueKind.Number) throw TypeError(name, "an integer", v);
        if (v.TryGetUInt64(out ulong s)) return s;
        throw new ApiException(400, $"{name} must be an integer in 0 … {ulong.MaxValue}, got {Raw(v)}", name, "invalid_value");
    }

    static Predictor Sampler(JsonElement v, string name)
    {
        var text = String(v, name);
        try { return SamplingOptions.Parse(text, name); }
        catch (SeddException e) { throw new ApiException(400, ApiErrors.OneLine(e.Message), name, "invalid_value"); }
    }

    static bool StreamOptions(JsonElement v, string name)
    {
        if (v.ValueKind != JsonValueKind.Object) throw TypeError(name, "an object", v);
        bool usage = false;
        foreach (var p in v.EnumerateObject())
        {
            if (p.Name != "include_usage")
                throw new ApiException(400, $"unknown field '{ApiErrors.OneLine(Clip(p.Name))}' in {name}; it accepts include_usage", name, "unknown_field");
            if (p.Value.ValueKind != JsonValueKind.Null) usage = Bool(p.Value, name + ".include_usage");
        }
        return usage;
    }

    static string[] Stops(JsonElement v, string name)
    {
        string[] stops = v.ValueKind switch
        {
            JsonValueKind.String => [GetString(v, name)],
            JsonValueKind.Array => [.. v.EnumerateArray().Select(e => e.ValueKind == JsonValueKind.String ? GetString(e, name) : throw TypeError(name, "a string or an array of strings", e))],
            _ => throw TypeError(name, "a string or an array of strings", v),
        };
        if (stops.Length > MaxStops) throw new ApiException(400, $"{name} holds {stops.Length} strings; at most {MaxStops}", name, "invalid_value");
        foreach (var s in stops)
            if (s.Length == 0 || s.Length > MaxStopChars)
                throw new ApiException(400, $"{name} strings must have 1 … {MaxStopChars} characters", name, "invalid_value");
        return stops;
    }

    static void Neutral(JsonElement v, string name, bool neutral, string why)
    {
        if (!neutral) throw new ApiException(400, $"{name} is not supported ({why}); leave it out or null", name, "unsupported_value");
    }

    static ApiException TypeError(string name, string expected, JsonElement v, string? param = null) =>
        new(400, $"{name} must be {expected}, got {Describe(v)}", param ?? name, "invalid_type");

    static string Describe(JsonElement v) => v.ValueKind switch
    {
        JsonValueKind.Object => "an object",
        JsonValueKind.Array => "an array",
        JsonValueKind.String => "a string",
        JsonValueKind.Number => "the number " + Raw(v),
        JsonValueKind.True or JsonValueKind.False => "a boolean",
        _ => "null",
    };

    static string Raw(JsonElement v) => Clip(v.GetRawText());

    static string Clip(string s) => s.Length <= 40 ? s : string.Concat(s.AsSpan(0, 40), "…");
}
