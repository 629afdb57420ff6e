using System.Globalization;
using System.Text.Encodings.Web;

namespace Sedd.Runtime;

/// <summary>A JSON encoder that keeps text readable (no escaping of ordinary non-ASCII) but escapes every control and bidirectional-control character.</summary>
public sealed class SafeJsonEncoder : JavaScriptEncoder
{
    /// <summary>The one instance.</summary>
    public static readonly SafeJsonEncoder Instance = new();
    static readonly JavaScriptEncoder Relaxed = UnsafeRelaxedJsonEscaping;

    /// <inheritdoc/>
    public override int MaxOutputCharactersPerInputCharacter => Relaxed.MaxOutputCharactersPerInputCharacter;

    /// <inheritdoc/>
    public override unsafe int FindFirstCharacterToEncode(char* text, int textLength)
    {
        int relaxed = Relaxed.FindFirstCharacterToEncode(text, textLength);
        int end = relaxed < 0 ? textLength : relaxed;
        for (int i = 0; i < end; i++) if (Unsafe(text[i])) return i;
        return relaxed;
    }

    /// <inheritdoc/>
    public override unsafe bool TryEncodeUnicodeScalar(int unicodeScalar, char* buffer, int bufferLength, out int numberOfCharactersWritten)
    {
        if (unicodeScalar < 0x10000 && Unsafe((char)unicodeScalar))
        {
            numberOfCharactersWritten = 0;
            if (bufferLength < 6) return false;
            var hex = unicodeScalar.ToString("x4", CultureInfo.InvariantCulture);
            buffer[0] = '\\';
            buffer[1] = 'u';
            for (int i = 0; i < 4; i++) buffer[2 + i] = hex[i];
            numberOfCharactersWritten = 6;
            return true;
        }
        return Relaxed.TryEncodeUnicodeScalar(unicodeScalar, buffer, bufferLength, out numberOfCharactersWritten);
    }

    /// <inheritdoc/>
    public override bool WillEncode(int unicodeScalar) => unicodeScalar < 0x10000 && Unsafe((char)unicodeScalar) || Relaxed.WillEncode(unicodeScalar);

    static bool Unsafe(char c) => c < ' ' || c is >= '\u007f' and <= '\u009f' || c is >= '\u202a' and <= '\u202e' || c is >= '\u2066' and <= '\u2069';
}
