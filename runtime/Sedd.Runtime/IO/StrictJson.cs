using System.Text.Json;
using System.Text.Json.Nodes;

namespace Sedd.Runtime.IO;

/// <summary>
/// JSON as Sedd's tools read it from files: one object, no duplicate keys (which a reader could take
/// either way), at most <see cref="MaxDepth"/> levels of nesting, no comments, and every failure a
/// one-line <see cref="SeddException"/> (bad input) naming the file. System.Text.Json by itself lets a
/// duplicate key through (or throws an ArgumentException, which would surface as an internal error).
/// </summary>
public static class StrictJson
{
    /// <summary>Deepest nesting accepted; Sedd's files need 4.</summary>
    public const int MaxDepth = 64;

    /// <summary>Largest JSON file a config, state or manifest may be.</summary>
    public const long MaxFileBytes = 16L << 20;

    /// <summary>Options that refuse duplicates and deep nesting (for <see cref="JsonDocument"/> and <see cref="JsonNode"/>).</summary>
    public static JsonDocumentOptions DocumentOptions { get; } = new() { AllowDuplicateProperties = false, MaxDepth = MaxDepth };

    /// <summary>Parses <paramref name="json"/>, which must hold one JSON object.</summary>
    /// <param name="json">The text.</param>
    /// <param name="what">The file's name for messages.</param>
    public static JsonObject ParseObject(string json, string what)
    {
        ArgumentNullException.ThrowIfNull(json);
        JsonNode? node;
        try { node = JsonNode.Parse(json, documentOptions: DocumentOptions); }
        catch (JsonException e) { throw new SeddException($"{what} is not valid JSON: {OneLine(e.Message)}", SeddException.BadInput); }
        catch (ArgumentException e) { throw new SeddException($"{what} is not valid JSON: {OneLine(e.Message)}", SeddException.BadInput); }
        return node as JsonObject ?? throw new SeddException($"{what} does not hold a JSON object", SeddException.BadInput);
    }

    /// <summary>Reads a regular file of at most <see cref="MaxFileBytes"/> (strict UTF-8) holding one JSON object.</summary>
    /// <param name="path">The file.</param>
    /// <param name="what">How messages name it, e.g. "--eval file".</param>
    /// <param name="cancel">Checked while reading.</param>
    public static JsonObject ReadObject(string path, string what, CancellationToken cancel = default)
    {
        var text = UserFiles.ReadAllText(path, what, MaxFileBytes, cancel);
        return ParseObject(text, $"{what} {path}");
    }

    static string OneLine(string message) => message.Split('\n', 2)[0].TrimEnd('\r');
}
