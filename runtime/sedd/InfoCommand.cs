using System.Globalization;
using Sedd.Runtime;
using Sedd.Runtime.Package;

namespace Sedd.Cli;

/// <summary>
/// <c>sedd info</c>: everything the manifest records, plus the files' sizes. Every string that comes
/// from the package (names, paths, provenance) passes through <see cref="TerminalText.Neutralise"/>:
/// a manifest is a file from elsewhere, and its text must not drive the terminal.
/// </summary>
static class InfoCommand
{
    public static int Run(string? model, TextWriter o)
    {
        var package = ModelLocator.Open(model);
        var m = package.Manifest;
        var inv = CultureInfo.InvariantCulture;
        o.WriteLine($"package:      {T(package.Folder)}");
        o.WriteLine($"format:       {T(m.Format)} v{m.FormatVersion}");
        o.WriteLine($"graph:        {T(m.Graph.Type)}, {m.Graph.Tokens} tokens, {m.Graph.States} states{(m.Graph.MaskId is int mask ? $", mask id {mask}" : "")}");
        var noise = m.Noise.Type == "geometric"
            ? string.Create(inv, $"geometric, sigma_min {m.Noise.SigmaMin}, sigma_max {m.Noise.SigmaMax}")
            : string.Create(inv, $"loglinear{(m.Noise.Eps is double e ? $", eps {e}" : "")}");
        o.WriteLine($"noise:        {noise}");
        o.WriteLine($"length:       {m.Length}");
        o.WriteLine($"tokenizer:    {T(m.Tokenizer)}");
        o.WriteLine($"model:        hidden {m.Model.HiddenSize}, cond {m.Model.CondDim}, {m.Model.NBlocks} blocks, {m.Model.NHeads} heads, {m.Model.Parameters.ToString("N0", inv)} parameters");
        o.WriteLine($"              scale_by_sigma {Flag(m.Model.ScaleBySigma)}, time_independent {Flag(m.Model.TimeIndependent)}, parameterization {T(m.Model.Parameterization)}");
        o.WriteLine($"onnx:         {T(m.Onnx.File)}, opset {m.Onnx.Opset}, precision {T(m.Onnx.Precision)}");
        foreach (var t in m.Onnx.Inputs) o.WriteLine($"  input       {T(t.Name)} {T(t.Type)} [{T(string.Join(", ", t.Shape))}]");
        foreach (var t in m.Onnx.Outputs) o.WriteLine($"  output      {T(t.Name)} {T(t.Type)} [{T(string.Join(", ", t.Shape))}]");
        var p = m.Provenance;
        o.WriteLine($"provenance:   source {T(p.Source)}, {T(p.Weights)} weights{Opt(", corpus ", p.Corpus)}{Opt(", steps ", p.Steps?.ToString("N0", inv))}{Opt(", tokens ", p.Tokens?.ToString("N0", inv))}");
        if (p.ExportedAt != null || p.Exporter != null) o.WriteLine($"exported:     {T(p.ExportedAt ?? "?")} by {T(p.Exporter ?? "?")}");
        if (p.Evaluation is { } ev)
            o.WriteLine(string.Create(inv, $"evaluation:   {T(ev.Split)} perplexity ≤ {ev.PerplexityBound:F2}{(ev.NatsPerToken is double n ? $", diffusion term {n:F4} nats/token" : "")}{(ev.StandardError is double se ? $" ± {se:F4}" : "")}{(ev.Samples is int k ? $", K = {k}" : "")}"));
        else o.WriteLine("evaluation:   none recorded");
        if (m.Verification is { } v)
            o.WriteLine(string.Create(inv, $"verification: against {T(v.Reference)}, {v.Cases} cases, max |diff| {(v.MaxAbsDiff is double d ? d.ToString("G3", inv) : "n/a")}{(v.MaxAbsDiffVsFp32 is double q ? $", vs fp32 {q:G3}" : "")}"));
        else o.WriteLine("verification: none recorded");
        o.WriteLine("files:");
        foreach (var (file, hash) in m.Files)
            o.WriteLine($"  {T(file),-24} {Size(new FileInfo(package.PathOf(file)).Length),10}  sha256 {T(hash[..16])}…");
        long onnxBytes = m.Files.Keys.Where(f => f == m.Onnx.File || f.StartsWith(Path.GetFileNameWithoutExtension(m.Onnx.File) + ".", StringComparison.Ordinal) && !f.EndsWith(".safetensors", StringComparison.Ordinal))
            .Sum(f => new FileInfo(package.PathOf(f)).Length);
        o.WriteLine($"onnx size:    {Size(onnxBytes)} (graph and external data)");
        return 0;
    }

    // One line per field: a newline in a manifest string must not start a line that looks like another field.
    static string T(string? text) => TerminalText.Neutralise(text, keepNewlines: false);

    static string Flag(bool b) => b ? "yes" : "no";

    static string Opt(string label, string? value) => value == null ? "" : label + T(value);

    static string Size(long bytes) => bytes switch
    {
        >= 1 << 30 => string.Create(CultureInfo.InvariantCulture, $"{bytes / (double)(1 << 30):F2} GiB"),
        >= 1 << 20 => string.Create(CultureInfo.InvariantCulture, $"{bytes / (double)(1 << 20):F2} MiB"),
        >= 1 << 10 => string.Create(CultureInfo.InvariantCulture, $"{bytes / 1024.0:F1} KiB"),
        _ => string.Create(CultureInfo.InvariantCulture, $"{bytes} B"),
    };
}
