using System.Text;
using Sedd.Runtime;

namespace Sedd.Cli;

/// <summary>Reads user text strictly: invalid UTF-8 and lone surrogates are errors, never U+FFFD.</summary>
static class TextInput
{
    static readonly UTF8Encoding Strict = new(encoderShouldEmitUTF8Identifier: false, throwOnInvalidBytes: true);

    /// <summary>The file's text; exit 2 when it is missing or not UTF-8.</summary>
    public static string ReadFile(string path, string option)
    {
        byte[] bytes;
        try { bytes = File.ReadAllBytes(path); }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new SeddException($"{option} {path} cannot be read: {e.Message}", SeddException.BadInput);
        }
        int start = bytes.AsSpan().StartsWith(Strict.Preamble) ? Strict.Preamble.Length : 0;
        try { return Strict.GetString(bytes, start, bytes.Length - start); }
        catch (DecoderFallbackException e)
        {
            throw new SeddException($"{option} {path} is not valid UTF-8 (bad byte at offset {start + e.Index}); save it as UTF-8", SeddException.BadInput);
        }
    }

    /// <summary>Refuses a string holding an unpaired surrogate (it would silently become U+FFFD).</summary>
    public static void RequireWellFormed(string text, string what)
    {
        for (int i = 0; i < text.Length; i++)
        {
            if (char.IsHighSurrogate(text[i]) && i + 1 < text.Length && char.IsLowSurrogate(text[i + 1])) { i++; continue; }
            if (char.IsSurrogate(text[i]))
                throw new SeddException($"{what} holds a lone surrogate U+{(int)text[i]:X4} at char {i}; expected well-formed Unicode text", SeddException.BadInput);
        }
    }
}
