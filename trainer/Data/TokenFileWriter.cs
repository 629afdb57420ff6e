using System.Buffers.Binary;
using System.Security.Cryptography;

namespace Sedd.Trainer.Data;

/// <summary>
/// Streams one split's tokens into a temporary file beside its final name, hashing as it goes.
/// <see cref="Commit"/> renames it into place; disposing without committing deletes it, so a failed
/// prepare leaves no half-written <c>.bin</c>.
/// </summary>
sealed partial class TokenFileWriter : IDisposable
{
    const int BufferBytes = 1 << 16;

    readonly Stream _file;
    readonly IncrementalHash _sha = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
    readonly byte[] _buffer = new byte[BufferBytes];
    readonly int _bytesPerToken;
    int _used;
    bool _closed;

    /// <summary>Opens a temporary file for <paramref name="finalPath"/> in the same folder.</summary>
    /// <param name="finalPath">Where <see cref="Commit"/> puts the file.</param>
    /// <param name="bytesPerToken">2 (uint16) or 4 (int32).</param>
    /// <param name="create">Opens the temporary file (tests simulate a full disk); null for a new file.</param>
    public TokenFileWriter(string finalPath, int bytesPerToken, Func<string, Stream>? create = null)
    {
        FinalPath = finalPath;
        TempPath = TempName(finalPath);
        _bytesPerToken = bytesPerToken;
        _file = create?.Invoke(TempPath) ?? new FileStream(TempPath, FileMode.CreateNew, FileAccess.Write, FileShare.None, 1, FileOptions.None);
    }

    public string FinalPath { get; }

    public string TempPath { get; }

    public int Documents { get; private set; }

    public long Tokens { get; private set; }

    /// <summary>Hex SHA-256 of everything written; valid after <see cref="Close"/>.</summary>
    public string Sha256 { get; private set; } = "";

    /// <summary>A unique temporary name next to <paramref name="finalPath"/>: <c>.NAME.PID-GUID.tmp</c>, hidden, naming its process.</summary>
    public static string TempName(string finalPath) =>
        Path.Combine(Path.GetDirectoryName(finalPath)!, $".{Path.GetFileName(finalPath)}.{Environment.ProcessId}-{Guid.NewGuid():N}.tmp");

    /// <summary>
    /// For a temporary name this class makes for a prepared folder's files (<see cref="TempName"/>), the
    /// process that made it; 0 for the name form of earlier versions, which carried no process id;
    /// null for any other name, which is never ours to remove.
    /// </summary>
    /// <param name="fileName">A file name.</param>
    public static int? OwnerOf(string fileName)
    {
        var m = TempNameRegex().Match(fileName);
        if (!m.Success) return null;
        return m.Groups[2].Success ? int.Parse(m.Groups[2].Value, System.Globalization.CultureInfo.InvariantCulture) : 0;
    }

    [System.Text.RegularExpressions.GeneratedRegex(@"^\.(train\.bin|valid\.bin|test\.bin|meta\.json)\.(?:([0-9]{1,9})-)?[0-9a-f]{32}\.tmp$")]
    private static partial System.Text.RegularExpressions.Regex TempNameRegex();

    /// <summary>Appends one document: its tokens, then EOS (spec §7).</summary>
    public void WriteDocument(ReadOnlySpan<int> tokens, int eosId)
    {
        foreach (var t in tokens)
            WriteToken(t);
        WriteToken(eosId);
        Documents++;
    }

    /// <summary>Flushes, fsyncs and closes the temporary file; fills <see cref="Sha256"/>.</summary>
    public void Close()
    {
        if (_closed)
            return;
        FlushBuffer();
        if (_file is FileStream fs)
            fs.Flush(flushToDisk: true);
        else
            _file.Flush();
        _file.Dispose();
        Sha256 = Convert.ToHexStringLower(_sha.GetHashAndReset());
        _closed = true;
    }

    /// <summary>Moves the closed temporary file to <see cref="FinalPath"/>, replacing any old file.</summary>
    public void Commit()
    {
        Close();
        File.Move(TempPath, FinalPath, overwrite: true);
    }

    public void Dispose()
    {
        if (!_closed)
        {
            _file.Dispose();
            _closed = true;
        }
        _sha.Dispose();
        if (File.Exists(TempPath))
            File.Delete(TempPath);
    }

    void WriteToken(int token)
    {
        if (_used + _bytesPerToken > _buffer.Length)
            FlushBuffer();
        var dest = _buffer.AsSpan(_used, _bytesPerToken);
        if (_bytesPerToken == 2)
            BinaryPrimitives.WriteUInt16LittleEndian(dest, checked((ushort)token));
        else
            BinaryPrimitives.WriteInt32LittleEndian(dest, token);
        _used += _bytesPerToken;
        Tokens++;
    }

    void FlushBuffer()
    {
        if (_used == 0)
            return;
        _file.Write(_buffer, 0, _used);
        _sha.AppendData(_buffer, 0, _used);
        _used = 0;
    }
}
