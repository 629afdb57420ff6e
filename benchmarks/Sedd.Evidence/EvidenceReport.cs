using System.Globalization;
using System.Text;
using System.Text.Json;
using System.Text.Json.Serialization;
using Sedd.Runtime.IO;

namespace Sedd.Evidence;

/// <summary>
/// The evidence being written: the full report (evidence.md), the machine-readable numbers
/// (evidence.json) and the shorter block that goes into the README between the markers.
/// Sections append to all three; <see cref="Save"/> writes them atomically at the end.
/// </summary>
sealed class EvidenceReport(MachineInfo machine)
{
    static readonly JsonSerializerOptions Json = new()
    {
        WriteIndented = true,
        PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower,
        NumberHandling = JsonNumberHandling.AllowNamedFloatingPointLiterals,
        Converters = { new JsonStringEnumConverter(JsonNamingPolicy.SnakeCaseLower) },
    };

    readonly Dictionary<string, object?> json = new() { ["machine"] = machine };

    /// <summary>Invariant culture, for every number written.</summary>
    public static CultureInfo C => CultureInfo.InvariantCulture;

    /// <summary>Where and when.</summary>
    public MachineInfo Machine => machine;

    /// <summary>evidence.md.</summary>
    public StringBuilder Markdown { get; } = new();

    /// <summary>The README block (without the markers).</summary>
    public StringBuilder Readme { get; } = new();

    /// <summary>Records a section's numbers under <paramref name="key"/> in evidence.json.</summary>
    public void Data(string key, object? value) => json[key] = value;

    /// <summary>A Markdown table; cells are escaped.</summary>
    public static string Table(IReadOnlyList<string> headers, IEnumerable<IReadOnlyList<string>> rows)
    {
        var sb = new StringBuilder();
        sb.Append("| ").AppendJoin(" | ", headers.Select(Cell)).AppendLine(" |");
        sb.Append('|').AppendJoin("|", headers.Select(_ => " --- ")).AppendLine("|");
        foreach (var row in rows) sb.Append("| ").AppendJoin(" | ", row.Select(Cell)).AppendLine(" |");
        return sb.ToString();
    }

    /// <summary>Text made safe for one Markdown table cell.</summary>
    public static string Cell(string text) => text.ReplaceLineEndings(" ").Replace("|", "\\|", StringComparison.Ordinal);

    /// <summary>A number with <paramref name="format"/>, invariant culture.</summary>
    public static string F(double value, string format = "F2") => value.ToString(format, C);

    /// <summary>Writes evidence.md and evidence.json into <paramref name="outFolder"/> (each replaced atomically); returns their paths.</summary>
    public (string Markdown, string Json) Save(string outFolder)
    {
        Directory.CreateDirectory(outFolder);
        var md = Path.Combine(outFolder, "evidence.md");
        var js = Path.Combine(outFolder, "evidence.json");
        AtomicFile.WriteAllText(md, Markdown.ToString());
        AtomicFile.WriteAllText(js, JsonSerializer.Serialize(json, Json) + "\n");
        return (md, js);
    }
}
