using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;
using Sedd.Runtime;

namespace Sedd.Trainer.Training;

/// <summary>
/// metrics.jsonl: one JSON object per line, {"step": …, "kind": "train"|"valid", …}. On resume the
/// lines past the checkpoint's step (work that is being redone) are dropped first.
/// </summary>
public sealed class MetricsLog : IDisposable
{
    readonly StreamWriter writer;

    /// <summary>File path.</summary>
    public string Path { get; }

    /// <param name="path">metrics.jsonl path.</param>
    /// <param name="keepUpToStep">Lines with a larger step are removed (resume).</param>
    public MetricsLog(string path, long keepUpToStep)
    {
        Path = path;
        try
        {
            if (File.Exists(path))
            {
                var kept = File.ReadAllLines(path).Where(l => StepOf(l) is { } s && s <= keepUpToStep).ToArray();
                Runtime.IO.AtomicFile.WriteAllText(path, kept.Length == 0 ? "" : string.Join('\n', kept) + "\n");
            }
            writer = new StreamWriter(new FileStream(path, FileMode.Append, FileAccess.Write, FileShare.Read)) { AutoFlush = true };
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new SeddException($"cannot write {path}: {e.Message}", SeddException.Environment);
        }
    }

    /// <summary>Appends one record.</summary>
    /// <param name="record">Fields; "step" must be among them.</param>
    public void Write(JsonObject record) => writer.WriteLine(record.ToJsonString());

    /// <summary>Reads (step, value) pairs of one field from the records of one kind.</summary>
    /// <param name="path">metrics.jsonl path.</param>
    /// <param name="kind">"train" or "valid".</param>
    /// <param name="field">Field name.</param>
    public static (double[] Steps, double[] Values) Series(string path, string kind, string field)
    {
        var steps = new List<double>();
        var values = new List<double>();
        if (!File.Exists(path)) return ([], []);
        foreach (var line in File.ReadLines(path))
        {
            if (string.IsNullOrWhiteSpace(line)) continue;
            JsonNode? n;
            try { n = JsonNode.Parse(line); }
            catch (JsonException) { continue; }
            if ((string?)n?["kind"] != kind || n["step"] is null || n[field] is not JsonValue v || !v.TryGetValue(out double value)) continue;
            steps.Add(n["step"]!.GetValue<double>());
            values.Add(value);
        }
        return ([.. steps], [.. values]);
    }

    static long? StepOf(string line)
    {
        if (string.IsNullOrWhiteSpace(line)) return null;
        try { return JsonNode.Parse(line)?["step"]?.GetValue<long>(); }
        catch (JsonException) { return null; }
        catch (FormatException) { return null; }
    }

    /// <summary>Formats a double for log lines.</summary>
    /// <param name="x">Value.</param>
    public static string F(double x) => x.ToString("G5", CultureInfo.InvariantCulture);

    /// <inheritdoc />
    public void Dispose() => writer.Dispose();
}
