using System.Globalization;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Sedd.Cli;
using Sedd.Runtime;
using Sedd.Runtime.IO;

namespace Sedd.Trainer.Training;

/// <summary>
/// metrics.jsonl: one JSON object per line, {"step": …, "kind": "train"|"valid"|"nonfinite"|"resume", …}.
/// The file is only ever appended to, never truncated or rewritten. A resumed run appends a
/// {"kind": "resume", "step": N} line first; <see cref="Records"/> then drops the earlier lines past
/// step N (work the interrupted run did after its last checkpoint, which the resumed run redoes), so the
/// log keeps all history and readers still see each step once.
/// </summary>
public sealed class MetricsLog : IDisposable
{
    /// <summary>Largest metrics.jsonl read for the plot (a million-step run writes well under 1 GB).</summary>
    public const long MaxReadBytes = 1L << 30;

    readonly Stream stream;

    /// <summary>File path.</summary>
    public string Path { get; }

    /// <summary>Opens (or creates) <paramref name="path"/> for appending.</summary>
    /// <param name="path">metrics.jsonl path.</param>
    /// <param name="resumeFrom">The checkpoint step a resumed run continues from (a "resume" line is appended); null for a new run.</param>
    public MetricsLog(string path, long? resumeFrom)
        : this(path, OpenAppend(path))
    {
        if (resumeFrom is { } step) Write(new JsonObject { ["step"] = step, ["kind"] = "resume" });
    }

    /// <summary>Appends to <paramref name="stream"/> (tests simulate a full disk with it).</summary>
    internal MetricsLog(string path, Stream stream)
    {
        Path = path;
        this.stream = stream;
    }

    /// <summary>Appends one record as one line.</summary>
    /// <param name="record">Fields; "step" and "kind" must be among them.</param>
    /// <exception cref="SeddException">The line cannot be written (disk full: exit 3).</exception>
    public void Write(JsonObject record)
    {
        ArgumentNullException.ThrowIfNull(record);
        var line = Encoding.UTF8.GetBytes(record.ToJsonString() + "\n");
        try
        {
            stream.Write(line);
            stream.Flush();
        }
        catch (IOException e)
        {
            var why = CliHost.IsDiskFull(e) ? "the disk is full" : e.Message;
            throw new SeddException($"cannot append to {Path}: {why}; free some space, then continue with --resume", SeddException.Environment);
        }
    }

    static FileStream OpenAppend(string path)
    {
        var kind = FileKinds.Of(path);
        if (kind is not (FileKind.Missing or FileKind.Regular))
            throw new SeddException($"{path} is {FileKinds.Describe(kind)}; expected the run's metrics.jsonl, a regular file", SeddException.BadInput);
        try
        {
            var file = new FileStream(path, FileMode.Append, FileAccess.Write, FileShare.Read);
            // A line cut off by a crash (or a full disk) is closed, so the next record starts a line of its own.
            if (file.Length > 0 && LastByte(path) != (byte)'\n') file.Write("\n"u8);
            return file;
        }
        catch (IOException e)
        {
            throw new SeddException($"cannot write {path}: {(CliHost.IsDiskFull(e) ? "the disk is full" : e.Message)}", SeddException.Environment);
        }
        catch (UnauthorizedAccessException e)
        {
            throw new SeddException($"cannot write {path}: {e.Message}", SeddException.Environment);
        }
    }

    static int LastByte(string path)
    {
        using var read = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite);
        read.Seek(-1, SeekOrigin.End);
        return read.ReadByte();
    }

    /// <summary>
    /// The records of a metrics.jsonl as the run now stands: lines that are not JSON objects with a
    /// step and a kind are skipped; a "resume" line at step N removes the earlier records past N.
    /// </summary>
    /// <param name="path">metrics.jsonl path; a missing file has no records.</param>
    /// <exception cref="SeddException">Not a regular file, or larger than <see cref="MaxReadBytes"/> (exit 2).</exception>
    public static List<JsonObject> Records(string path)
    {
        var records = new List<JsonObject>();
        var kind = FileKinds.Of(path);
        if (kind == FileKind.Missing) return records;
        using var stream = UserFiles.OpenRead(path, "metrics file");
        if (stream.Length > MaxReadBytes)
            throw new SeddException($"metrics file {path} has {stream.Length:N0} bytes; at most {MaxReadBytes:N0} are read", SeddException.BadInput);
        using var reader = new StreamReader(stream, Encoding.UTF8);
        while (reader.ReadLine() is { } line)
        {
            if (string.IsNullOrWhiteSpace(line)) continue;
            JsonObject? record;
            try { record = JsonNode.Parse(line) as JsonObject; }
            catch (JsonException) { continue; }
            if (record is null || StepOf(record) is not { } step || (string?)KindOf(record) is not { } recordKind) continue;
            if (recordKind == "resume") records.RemoveAll(r => StepOf(r) > step);
            else records.Add(record);
        }
        return records;
    }

    /// <summary>Reads (step, value) pairs of one field from the records of one kind (see <see cref="Records"/>).</summary>
    /// <param name="path">metrics.jsonl path.</param>
    /// <param name="kind">"train" or "valid".</param>
    /// <param name="field">Field name.</param>
    public static (double[] Steps, double[] Values) Series(string path, string kind, string field)
    {
        var steps = new List<double>();
        var values = new List<double>();
        foreach (var r in Records(path))
        {
            if (KindOf(r) != kind || r[field] is not JsonValue v || !v.TryGetValue(out double value)) continue;
            steps.Add(StepOf(r)!.Value);
            values.Add(value);
        }
        return ([.. steps], [.. values]);
    }

    static long? StepOf(JsonObject r) => r["step"] is JsonValue v && v.TryGetValue(out long s) ? s : null;

    static string? KindOf(JsonObject r) => r["kind"] is JsonValue v && v.TryGetValue(out string? k) ? k : null;

    /// <summary>Formats a double for log lines.</summary>
    /// <param name="x">Value.</param>
    public static string F(double x) => x.ToString("G5", CultureInfo.InvariantCulture);

    /// <inheritdoc />
    public void Dispose()
    {
        // Every line was flushed when written; a failure here can only repeat one already reported.
        try { stream.Dispose(); }
        catch (IOException) { }
    }
}
