using System.Globalization;
using System.Text.Json;
using Sedd.Runtime.Generation;
using Sedd.Runtime.Onnx;

namespace Sedd.Cli.Serve;

/// <summary>
/// The one model the server serves: absent while it loads (requests get 503, <c>/health</c> too), then
/// its generator and scheduler. Its id is the package's folder name, as <c>/v1/models</c> lists it.
/// </summary>
sealed class ModelHost(string folder, string maskGlyph)
{
    volatile Loaded? loaded;

    /// <summary>The package folder.</summary>
    public string Folder { get; } = Path.GetFullPath(folder);

    /// <summary>The model id clients name: the folder's name.</summary>
    public string Id => Path.GetFileName(Folder.TrimEnd(Path.DirectorySeparatorChar, Path.AltDirectorySeparatorChar));

    /// <summary>Placeholder for masked tokens in streamed canvases.</summary>
    public string MaskGlyph { get; } = maskGlyph;

    /// <summary>Whether the model is loaded.</summary>
    public bool IsReady => loaded != null;

    /// <summary>Makes the model servable.</summary>
    public void SetLoaded(SeddGenerator generator, BatchScheduler scheduler) => loaded = new Loaded(generator, scheduler);

    /// <summary>The generator and scheduler; a 503 while the model loads.</summary>
    public (SeddGenerator Generator, BatchScheduler Scheduler) Require()
    {
        var l = loaded ?? throw new ApiException(503, "the model is still loading; try again shortly", code: "model_loading") { RetryAfterSeconds = 1 };
        return (l.Generator, l.Scheduler);
    }

    /// <summary>A 404 unless <paramref name="model"/> is null or this model's id.</summary>
    public void RequireModel(string? model)
    {
        if (model != null && model != Id)
            throw new ApiException(404, $"the model '{ApiErrors.OneLine(model.Length <= 80 ? model : model[..80] + "…")}' does not exist; this server serves '{Id}'", "model", "model_not_found");
    }

    /// <summary>OpenAI's model object, with the package's facts under <c>sedd</c>.</summary>
    public void WriteModel(Utf8JsonWriter w)
    {
        var g = Require().Generator;
        var m = g.Package.Manifest;
        w.WriteStartObject();
        w.WriteString("id", Id);
        w.WriteString("object", "model");
        w.WriteNumber("created", Created(m.Provenance.ExportedAt));
        w.WriteString("owned_by", "sedd");
        w.WriteStartObject("sedd");
        w.WriteString("graph", m.Graph.Type);
        w.WriteNumber("tokens", m.Graph.Tokens);
        w.WriteNumber("window", m.Length);
        w.WriteNumber("max_tokens", SeddGenerator.MaxLength);
        w.WriteString("tokenizer", m.Tokenizer);
        w.WriteString("noise", m.Noise.Type);
        w.WriteNumber("parameters", m.Model.Parameters);
        w.WriteString("parameterization", m.Model.Parameterization);
        w.WriteBoolean("time_independent", m.Model.TimeIndependent);
        w.WriteString("precision", m.Onnx.Precision);
        w.WriteString("provider", ExecutionProviders.Name(g.Provider.Provider));
        w.WriteString("source", m.Provenance.Source);
        if (m.Provenance.Corpus != null) w.WriteString("corpus", m.Provenance.Corpus);
        if (m.Provenance.Steps is long steps) w.WriteNumber("training_steps", steps);
        if (m.Provenance.Evaluation is { } e) w.WriteNumber("perplexity_bound", e.PerplexityBound);
        w.WriteEndObject();
        w.WriteEndObject();
    }

    static long Created(string? exportedAt) =>
        DateTimeOffset.TryParse(exportedAt, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal, out var t) ? t.ToUnixTimeSeconds() : 0;

    sealed record Loaded(SeddGenerator Generator, BatchScheduler Scheduler);
}
