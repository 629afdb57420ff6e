using System.Text.Encodings.Web;
using System.Text.Json;
using System.Text.Json.Serialization;
using Sedd.Runtime;
using Sedd.Runtime.IO;

namespace Sedd.Trainer.Data;

/// <summary>One split's entry in <c>meta.json</c>.</summary>
public sealed record TokenSplitInfo
{
    /// <summary>File name inside the prepared folder, e.g. <c>train.bin</c>.</summary>
    public required string File { get; init; }

    /// <summary>Documents in the split.</summary>
    public required int Documents { get; init; }

    /// <summary>Tokens in the file, one EOS per document included.</summary>
    public required long Tokens { get; init; }

    /// <summary>Lower-case hex SHA-256 of the file's bytes.</summary>
    public required string Sha256 { get; init; }
}

/// <summary>
/// <c>meta.json</c> of a prepared token folder: how the <c>.bin</c> files were made and how to read them.
/// Each <c>&lt;split&gt;.bin</c> holds the split's documents in order, each one's tokens followed by one EOS
/// (spec §7: no BOS, no padding), as little-endian <see cref="TokenDtype"/> values.
/// </summary>
public sealed record TokenFileMeta
{
    /// <summary>File name of the metadata inside a prepared folder.</summary>
    public const string FileName = "meta.json";

    /// <summary>Format marker written to <see cref="Format"/>.</summary>
    public const string FormatName = "sedd-tokens";

    /// <summary>Largest meta.json read (it is about a kilobyte).</summary>
    public const long MaxBytes = 1 << 20;

    /// <summary>The layout version this code writes and reads.</summary>
    public const int CurrentVersion = 1;

    static readonly JsonSerializerOptions s_json = new()
    {
        WriteIndented = true,
        // A file for people and programs, never embedded in HTML: keep '+' and quotes readable.
        Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping,
        PropertyNamingPolicy = JsonNamingPolicy.CamelCase,
        DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull,
    };

    /// <summary>Always <see cref="FormatName"/>.</summary>
    public string Format { get; init; } = FormatName;

    /// <summary>Layout version; readers refuse other values.</summary>
    public int FormatVersion { get; init; } = CurrentVersion;

    /// <summary>Canonical tokenizer spec, e.g. <c>gpt2-4096</c> (see <see cref="Sedd.Runtime.Text.TokenizerSpec"/>).</summary>
    public required string Tokenizer { get; init; }

    /// <summary>Real token ids 0..VocabSize-1, EOS included (the mask id is VocabSize).</summary>
    public required int VocabSize { get; init; }

    /// <summary>End-of-document id.</summary>
    public required int EosId { get; init; }

    /// <summary><c>uint16</c> when VocabSize ≤ 65536, else <c>int32</c>.</summary>
    public required string TokenDtype { get; init; }

    /// <summary>Corpus name: <c>brown</c> or <c>text</c>.</summary>
    public required string Corpus { get; init; }

    /// <summary>Where the corpus was read from (a folder or file path).</summary>
    public required string Source { get; init; }

    /// <summary>The document split rule, in words.</summary>
    public required string SplitRule { get; init; }

    /// <summary>Per split name ("train", "valid", "test").</summary>
    public required IReadOnlyDictionary<string, TokenSplitInfo> Splits { get; init; }

    /// <summary>Bytes per stored token: 2 for uint16, 4 for int32.</summary>
    [JsonIgnore]
    public int BytesPerToken => TokenDtype switch
    {
        "uint16" => 2,
        "int32" => 4,
        _ => throw new SeddException($"{FileName}: unknown tokenDtype '{TokenDtype}'; expected uint16 or int32.", SeddException.BadInput),
    };

    /// <summary>The dtype used for a vocabulary: ids fit in uint16 up to 65536 tokens.</summary>
    /// <param name="vocabSize">Real tokens including EOS.</param>
    public static string DtypeFor(int vocabSize) => vocabSize <= 65536 ? "uint16" : "int32";

    /// <summary>Serialises to indented JSON.</summary>
    public string ToJson() => JsonSerializer.Serialize(this, s_json);

    /// <summary>Reads and checks <c>meta.json</c> of a prepared folder.</summary>
    /// <param name="folder">The prepared folder.</param>
    /// <exception cref="SeddException">Missing, unreadable or inconsistent metadata (exit code 2).</exception>
    public static TokenFileMeta Load(string folder)
    {
        ArgumentNullException.ThrowIfNull(folder);
        UserFiles.RequirePathArgument(folder, "data folder");
        var path = Path.Combine(folder, FileName);
        if (FileKinds.Of(path) == FileKind.Missing)
            throw new SeddException($"'{folder}' is not a prepared token folder: {FileName} is missing (run 'sedd-train prepare').", SeddException.BadInput);
        TokenFileMeta? meta;
        try
        {
            meta = JsonSerializer.Deserialize<TokenFileMeta>(UserFiles.ReadAllText(path, "token metadata", MaxBytes), s_json);
        }
        catch (JsonException e)
        {
            throw new SeddException($"'{path}' is not valid token metadata: {e.Message}", SeddException.BadInput);
        }
        if (meta is null || meta.Format != FormatName || meta.FormatVersion != CurrentVersion)
            throw new SeddException(
                $"'{path}': expected format {FormatName} version {CurrentVersion}, found {meta?.Format ?? "null"} version {meta?.FormatVersion}.",
                SeddException.BadInput);
        if (meta.VocabSize < 2 || meta.EosId != meta.VocabSize - 1 || meta.TokenDtype != DtypeFor(meta.VocabSize))
            throw new SeddException(
                $"'{path}': vocabSize {meta.VocabSize}, eosId {meta.EosId} and tokenDtype {meta.TokenDtype} do not agree.", SeddException.BadInput);
        if (meta.Splits is null)
            throw new SeddException($"'{path}' lists no splits.", SeddException.BadInput);
        foreach (var (name, info) in meta.Splits)
        {
            // The file of a split is a plain name inside the folder: never a path that leads elsewhere.
            if (info is null || info.File is null || info.File != Path.GetFileName(info.File) || info.File is "" or "." or ".." || info.Tokens < 0 || info.Documents < 0)
                throw new SeddException($"'{path}': the entry of split '{name}' is invalid (expected a file name inside the folder and non-negative counts).", SeddException.BadInput);
        }
        return meta;
    }
}
