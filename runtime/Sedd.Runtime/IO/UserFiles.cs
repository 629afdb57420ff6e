using System.Text;

namespace Sedd.Runtime.IO;

/// <summary>
/// The one way Sedd's tools open a file a user named (or a package, checkpoint or corpus holds): only
/// regular files, with a size limit, read in a loop that watches cancellation, strict UTF-8 for text.
/// Every failure is a <see cref="SeddException"/> naming the file and what was expected.
/// </summary>
public static class UserFiles
{
    static readonly UTF8Encoding StrictUtf8 = new(encoderShouldEmitUTF8Identifier: false, throwOnInvalidBytes: true);

    /// <summary>Refuses an empty path argument (a usage error) and returns the path.</summary>
    /// <param name="path">The value given.</param>
    /// <param name="option">The option or argument that gave it, e.g. "--out".</param>
    public static string RequirePathArgument(string? path, string option)
    {
        if (path is null || path.Trim().Length == 0)
            throw new SeddException($"{option} needs a path, got an empty string", SeddException.Usage);
        if (path.Contains('\0'))
            throw new SeddException($"{option} holds a NUL character; expected a path", SeddException.Usage);
        return path;
    }

    /// <summary>Throws unless <paramref name="path"/> is a regular file (links followed).</summary>
    /// <param name="path">The file.</param>
    /// <param name="what">How messages name it, e.g. "--prompt-file" or "the manifest".</param>
    public static void RequireRegularFile(string path, string what)
    {
        var kind = FileKinds.Of(path);
        if (kind == FileKind.Regular) return;
        if (kind == FileKind.Missing)
            throw new SeddException($"{what} {path} does not exist", SeddException.BadInput);
        throw new SeddException($"{what} {path} is {FileKinds.Describe(kind)}; expected a regular file", SeddException.BadInput);
    }

    /// <summary>Opens a regular file for reading (never blocks on a FIFO).</summary>
    /// <param name="path">The file.</param>
    /// <param name="what">How messages name it.</param>
    public static FileStream OpenRead(string path, string what)
    {
        RequireRegularFile(path, what);
        try { return new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 16); }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new SeddException($"{what} {path} cannot be read: {e.Message}", SeddException.BadInput);
        }
    }

    /// <summary>Reads a whole regular file of at most <paramref name="maxBytes"/> bytes.</summary>
    /// <param name="path">The file.</param>
    /// <param name="what">How messages name it.</param>
    /// <param name="maxBytes">Largest size accepted.</param>
    /// <param name="cancel">Checked between reads of 1 MiB.</param>
    public static byte[] ReadAllBytes(string path, string what, long maxBytes, CancellationToken cancel = default)
    {
        using var stream = OpenRead(path, what);
        long length = stream.Length;
        if (length > maxBytes)
            throw new SeddException($"{what} {path} has {length:N0} bytes; at most {maxBytes:N0} are accepted", SeddException.BadInput);
        var bytes = new byte[length];
        int read = 0;
        try
        {
            while (read < bytes.Length)
            {
                cancel.ThrowIfCancellationRequested();
                int n = stream.Read(bytes, read, Math.Min(1 << 20, bytes.Length - read));
                if (n == 0) break;
                read += n;
            }
        }
        catch (IOException e)
        {
            throw new SeddException($"{what} {path} cannot be read: {e.Message}", SeddException.BadInput);
        }
        return read == bytes.Length ? bytes : bytes[..read];
    }

    /// <summary>Reads a UTF-8 text file strictly (a BOM is skipped; invalid bytes are an error, never U+FFFD).</summary>
    /// <param name="path">The file.</param>
    /// <param name="what">How messages name it.</param>
    /// <param name="maxBytes">Largest size accepted.</param>
    /// <param name="cancel">Checked while reading.</param>
    public static string ReadAllText(string path, string what, long maxBytes, CancellationToken cancel = default)
    {
        var bytes = ReadAllBytes(path, what, maxBytes, cancel);
        return DecodeUtf8(bytes, $"{what} {path}");
    }

    /// <summary>Decodes UTF-8 strictly; <paramref name="what"/> names the source in the error.</summary>
    /// <param name="bytes">The bytes.</param>
    /// <param name="what">E.g. "--prompt-file p.txt".</param>
    public static string DecodeUtf8(ReadOnlySpan<byte> bytes, string what)
    {
        int start = bytes.StartsWith((ReadOnlySpan<byte>)[0xEF, 0xBB, 0xBF]) ? 3 : 0;
        try { return StrictUtf8.GetString(bytes[start..]); }
        catch (DecoderFallbackException e)
        {
            throw new SeddException($"{what} is not valid UTF-8 (bad byte at offset {start + e.Index}); expected UTF-8 text", SeddException.BadInput);
        }
    }
}
