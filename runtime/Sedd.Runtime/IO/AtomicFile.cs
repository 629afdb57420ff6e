namespace Sedd.Runtime.IO;

/// <summary>
/// Writes that never leave a half-written file under the final name: data goes to a temporary
/// file in the same folder, is flushed to disk, and is then renamed over the destination.
/// </summary>
public static class AtomicFile
{
    /// <summary>Writes <paramref name="bytes"/> to <paramref name="path"/> atomically.</summary>
    /// <param name="path">Destination file.</param>
    /// <param name="bytes">Contents.</param>
    public static void WriteAllBytes(string path, ReadOnlySpan<byte> bytes)
    {
        // The span cannot be captured by a delegate; write it here with the same steps as Write.
        var temp = TempName(path);
        try
        {
            using (var fs = new FileStream(temp, FileMode.CreateNew, FileAccess.Write, FileShare.None))
            {
                fs.Write(bytes);
                fs.Flush(flushToDisk: true);
            }
            File.Move(temp, path, overwrite: true);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            TryDelete(temp);
            throw new SeddException($"cannot write {path}: {e.Message}", SeddException.Environment);
        }
    }

    /// <summary>
    /// Writes <paramref name="path"/> atomically through <paramref name="write"/>, which streams the
    /// contents (and may check a cancellation token); whatever it throws, the temporary file is removed
    /// and nothing appears under <paramref name="path"/>.
    /// </summary>
    /// <param name="path">Destination file.</param>
    /// <param name="write">Writes the contents to the stream it is given.</param>
    public static void Write(string path, Action<Stream> write)
    {
        ArgumentNullException.ThrowIfNull(write);
        var temp = TempName(path);
        try
        {
            using (var fs = new FileStream(temp, FileMode.CreateNew, FileAccess.Write, FileShare.None, 1 << 16))
            {
                write(fs);
                fs.Flush(flushToDisk: true);
            }
            File.Move(temp, path, overwrite: true);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            TryDelete(temp);
            throw new SeddException($"cannot write {path}: {e.Message}", SeddException.Environment);
        }
        catch
        {
            TryDelete(temp);
            throw;
        }
    }

    /// <summary>Writes text (UTF-8) atomically.</summary>
    /// <param name="path">Destination file.</param>
    /// <param name="text">Contents.</param>
    public static void WriteAllText(string path, string text) => WriteAllBytes(path, System.Text.Encoding.UTF8.GetBytes(text));

    /// <summary>A temporary name beside <paramref name="path"/>, unique to this process and call.</summary>
    /// <param name="path">The final path.</param>
    public static string TempName(string path) =>
        path + $".tmp-{Environment.ProcessId}-{Guid.NewGuid():N}"[..24];

    static void TryDelete(string path)
    {
        try { File.Delete(path); }
        catch (IOException) { }
        catch (UnauthorizedAccessException) { }
    }
}
