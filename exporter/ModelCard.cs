using System.Globalization;
using System.Text;
using Sedd.Exporter.Sources;
using Sedd.Runtime.Package;

namespace Sedd.Exporter;

/// <summary>The package's README.md: a model card generated from the manifest and the source.</summary>
public static class ModelCard
{
    /// <summary>Markdown describing the package (all facts from <paramref name="m"/>; no path outside the package).</summary>
    /// <param name="m">The manifest (its file list may still be empty).</param>
    /// <param name="source">The exported checkpoint.</param>
    /// <param name="verification">The verification line.</param>
    /// <param name="notes">Markdown from the trainer (<c>--notes</c>), appended as its own section.</param>
    public static string Render(ModelManifest m, ExportSource source, string verification, string? notes = null)
    {
        ArgumentNullException.ThrowIfNull(m);
        ArgumentNullException.ThrowIfNull(source);
        var c = CultureInfo.InvariantCulture;
        var b = new StringBuilder();
        void Line(string s = "") => b.Append(s).Append('\n');
        var a = source.Architecture;
        Line($"# SEDD {m.Graph.Type} score network ({m.Model.Parameters.ToString("N0", c)} parameters)");
        Line();
        Line("A score-entropy discrete diffusion language model (Lou, Meng & Ermon, 2024), exported by `sedd-export` as an");
        Line("ONNX model package. `model.onnx` computes the log-score of every state at every position, post-processing included,");
        Line("so its output is exactly what the samplers consume. `manifest.json` describes everything a runtime needs.");
        Line();
        Line("## Architecture");
        Line();
        Line($"- Diffusion transformer (DDiT): {m.Model.NBlocks} blocks, hidden size {m.Model.HiddenSize}, {m.Model.NHeads} heads, cond_dim {m.Model.CondDim}, MLP width {a.MlpHidden}");
        Line($"- Rotary position embedding; adaLN-zero conditioning on the total noise σ̄{(m.Model.TimeIndependent ? " (time-independent: the network conditions on σ = 0)" : "")}");
        Line($"- Output scaled by σ (absorbing graph): {(m.Model.ScaleBySigma ? "yes" : "no")}");
        Line($"- Parameterization: {(m.Model.Parameterization == "normalized" ? "normalized (log-softmax over the real tokens, divided by e^σ̄ − 1, as in RADD)" : "score (SEDD's)")}");
        Line($"- Parameters: {m.Model.Parameters.ToString("N0", c)}");
        Line();
        Line("## Graph and noise");
        Line();
        Line($"- Graph: {m.Graph.Type}, {m.Graph.Tokens} tokens, {m.Graph.States} states{(m.Graph.MaskId is { } mask ? $", mask id {mask}" : "")}");
        Line($"- Noise: {m.Noise.Type}{(m.Noise.Type == "geometric" ? $" (σ_min {m.Noise.SigmaMin?.ToString(c)}, σ_max {m.Noise.SigmaMax?.ToString(c)})" : $" (ε {m.Noise.Eps?.ToString(c)})")}");
        Line($"- Sequence length: 1 to {m.Length} tokens (trained on blocks of {source.TrainedLength})");
        Line($"- Tokenizer: `{m.Tokenizer}`");
        Line();
        Line("## ONNX graph");
        Line();
        Line($"- Opset {m.Onnx.Opset}, weights in {m.Onnx.Precision}; LayerNorm and softmax in fp32");
        foreach (var t in m.Onnx.Inputs) Line($"- input `{t.Name}`: {t.Type} [{string.Join(", ", t.Shape)}]");
        foreach (var t in m.Onnx.Outputs) Line($"- output `{t.Name}`: {t.Type} [{string.Join(", ", t.Shape)}]");
        Line("- Initializers carry the trainer's parameter names (e.g. `blocks.0.attn_qkv.weight`); `model.safetensors` holds the same weights.");
        Line();
        Line("## Provenance");
        Line();
        var p = m.Provenance;
        Line($"- Source: {Describe(p.Source)}, {p.Weights} weights");
        if (p.Corpus != null) Line($"- Corpus: {p.Corpus}");
        if (p.Steps != null) Line($"- Training steps: {p.Steps.Value.ToString("N0", c)}");
        if (p.Tokens != null) Line($"- Training tokens: {p.Tokens.Value.ToString("N0", c)}");
        if (p.ExportedAt != null) Line($"- Exported: {p.ExportedAt} by sedd-export {p.Exporter}");
        Line();
        Line("## Evaluation");
        Line();
        if (p.Evaluation is { } e)
            Line($"- Perplexity upper bound on the {e.Split} split: {e.PerplexityBound.ToString("F2", c)}" +
                (e.NatsPerToken is { } n ? $" (diffusion term {n.ToString("F4", c)} nats/token" + (e.StandardError is { } se ? $" ± {se.ToString("F4", c)}" : "") + ")" : "") +
                (e.Samples is { } k ? $", {k} time samples per sequence" : ""));
        else Line("- Not evaluated at export time (pass `--eval FILE.json` from `sedd-train eval --json`).");
        Line();
        Line("## Verification");
        Line();
        Line($"- {verification}");
        Line();
        Line("## Intended use");
        Line();
        Line("Research and demonstration of discrete diffusion language models: unconditional generation and infilling with the");
        Line("samplers of the Sedd runtime, or any ONNX Runtime user (CPU, CUDA, DirectML).");
        Line();
        Line("## Known weaknesses");
        Line();
        Line("- The likelihood figure is an upper bound on perplexity (from the diffusion ELBO: the denoising score-entropy loss integrated over the noise level, plus the prior term); the model's true perplexity is lower, by an unknown margin.");
        Line($"- Sequences longer than {m.Length} tokens are refused: the rotary tables end there.");
        Line("- Samples reflect the training corpus, including its biases and errors; small models produce fluent-looking but often incoherent text.");
        if (source.Kind != "sedd-train") Line("- Imported from the authors' checkpoint; that the hub weights are the EMA weights is inferred, not verified.");
        if (!string.IsNullOrWhiteSpace(notes))
        {
            Line();
            Line("## Notes from training");
            Line();
            Line(notes.Trim());
        }
        return b.ToString();
    }

    static string Describe(string kind) => kind switch
    {
        "sedd-train" => "sedd-train checkpoint",
        "hf" => "authors' Hugging Face layout",
        "pth" => "authors' run_train.py checkpoint",
        _ => kind,
    };
}
