using System.Buffers;
using System.Buffers.Binary;
using System.Globalization;
using System.Security.Cryptography;
using Microsoft.Win32.SafeHandles;
using Sedd.Runtime;
using Sedd.Runtime.IO;

namespace Sedd.Trainer.Data;

/// <summary>
/// One split of a prepared token folder, read for training without re-tokenizing. The split is one
/// stream of tokens (documents each followed by EOS) cut into fixed-length blocks; the remainder after the
/// last whole block is dropped (spec §7). Block i covers tokens [i·L, (i+1)·L). Reads go straight to the
/// file (positional reads), so the dataset is safe to read from several threads and needs no memory for
/// the data.
/// </summary>
public sealed class TokenDataset : IDisposable
{
    readonly SafeFileHandle _file;
    readonly int _bytesPerToken;

    TokenDataset(string folder, DataSplit split, TokenFileMeta meta, TokenSplitInfo info, SafeFileHandle file)
    {
        Folder = folder;
        Split = split;
        Meta = meta;
        _file = file;
        _bytesPerToken = meta.BytesPerToken;
        TokenCount = info.Tokens;
        DocumentCount = info.Documents;
    }

    /// <summary>The prepared folder.</summary>
    public string Folder { get; }

    /// <summary>Which split this is.</summary>
    public DataSplit Split { get; }

    /// <summary>The folder's <c>meta.json</c> (tokenizer, vocabulary, EOS id, counts).</summary>
    public TokenFileMeta Meta { get; }

    /// <summary>Tokens in the split, EOS after each document included.</summary>
    public long TokenCount { get; }

    /// <summary>Documents in the split.</summary>
    public int DocumentCount { get; }

    /// <summary>Real vocabulary size (EOS included), from <c>meta.json</c>.</summary>
    public int VocabSize => Meta.VocabSize;

    /// <summary>End-of-document id, from <c>meta.json</c>.</summary>
    public int EosId => Meta.EosId;

    /// <summary>
    /// Opens <c>&lt;split&gt;.bin</c> of a folder written by <see cref="PrepareCommand"/>, after checking
    /// <c>meta.json</c>, the file size and (unless <paramref name="verifyChecksum"/> is false) its SHA-256.
    /// </summary>
    /// <param name="folder">The prepared folder.</param>
    /// <param name="split">Which split to open.</param>
    /// <param name="verifyChecksum">Read the whole file once: compare its SHA-256 with <c>meta.json</c> and check every token id.</param>
    /// <param name="cancel">Checked while the file is read (a large corpus takes a while to hash).</param>
    /// <exception cref="SeddException">Missing or inconsistent files, a FIFO or device, token ids outside the vocabulary (exit code 2).</exception>
    public static TokenDataset Open(string folder, DataSplit split, bool verifyChecksum = true, CancellationToken cancel = default)
    {
        ArgumentNullException.ThrowIfNull(folder);
        var meta = TokenFileMeta.Load(folder);
        if (!meta.Splits.TryGetValue(split.Name(), out var info))
            throw new SeddException($"'{Path.Combine(folder, TokenFileMeta.FileName)}' has no '{split.Name()}' split.", SeddException.BadInput);
        var path = Path.Combine(folder, info.File);
        UserFiles.RequireRegularFile(path, "token file");
        SafeFileHandle handle;
        try
        {
            handle = File.OpenHandle(path, FileMode.Open, FileAccess.Read, FileShare.Read, FileOptions.RandomAccess);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new SeddException($"Cannot open token file '{path}': {e.Message}", SeddException.BadInput);
        }
        try
        {
            var expected = MemoryBudget.Product(info.Tokens, meta.BytesPerToken);
            var length = RandomAccess.GetLength(handle);
            if (length != expected)
                throw new SeddException(
                    string.Create(CultureInfo.InvariantCulture,
                        $"'{path}' has {length} bytes; meta.json expects {info.Tokens} {meta.TokenDtype} tokens = {expected} bytes."),
                    SeddException.BadInput);
            if (verifyChecksum)
            {
                var sha = HashAndCheckIds(handle, length, meta, path, cancel);
                if (!string.Equals(sha, info.Sha256, StringComparison.OrdinalIgnoreCase))
                    throw new SeddException($"'{path}' SHA-256 is {sha}; meta.json expects {info.Sha256} (file changed or damaged; run prepare again).", SeddException.BadInput);
            }
            return new TokenDataset(Path.GetFullPath(folder), split, meta, info, handle);
        }
        catch
        {
            handle.Dispose();
            throw;
        }
    }

    /// <summary>Number of whole blocks of <paramref name="length"/> tokens; the remainder is dropped (spec §7).</summary>
    /// <param name="length">Block (sequence) length L ≥ 1.</param>
    /// <exception cref="SeddException">L &lt; 1 (exit code 1) or the split has fewer than L tokens (exit code 2).</exception>
    public int BlockCount(int length)
    {
        if (length < 1)
            throw new SeddException($"Block length must be at least 1; found {length}.", SeddException.Usage);
        var blocks = TokenCount / length;
        if (blocks == 0)
            throw new SeddException(
                string.Create(CultureInfo.InvariantCulture,
                    $"The {Split.Name()} split of '{Folder}' has {TokenCount} tokens, fewer than one block of {length}; use a shorter length or more data."),
                SeddException.BadInput);
        return (int)Math.Min(blocks, int.MaxValue);
    }

    /// <summary>Copies block <paramref name="index"/> (tokens [index·L, (index+1)·L)) into <paramref name="destination"/>.</summary>
    /// <param name="index">0 ≤ index &lt; <see cref="BlockCount"/>(length).</param>
    /// <param name="length">Block length L.</param>
    /// <param name="destination">At least L elements; the first L are written (as int64, TorchSharp's index type).</param>
    public void ReadBlock(int index, int length, Span<long> destination)
    {
        var count = BlockCount(length);
        ArgumentOutOfRangeException.ThrowIfNegative(index);
        ArgumentOutOfRangeException.ThrowIfGreaterThanOrEqual(index, count);
        ArgumentOutOfRangeException.ThrowIfLessThan(destination.Length, length, nameof(destination));
        var bytes = length * _bytesPerToken;
        var rented = ArrayPool<byte>.Shared.Rent(bytes);
        try
        {
            var buffer = rented.AsSpan(0, bytes);
            ReadExactly((long)index * length * _bytesPerToken, buffer);
            if (_bytesPerToken == 2)
            {
                for (var i = 0; i < length; i++)
                    destination[i] = BinaryPrimitives.ReadUInt16LittleEndian(buffer[(2 * i)..]);
            }
            else
            {
                for (var i = 0; i < length; i++)
                    destination[i] = BinaryPrimitives.ReadInt32LittleEndian(buffer[(4 * i)..]);
            }
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(rented);
        }
    }

    /// <summary>Closes the file.</summary>
    public void Dispose() => _file.Dispose();

    void ReadExactly(long offset, Span<byte> buffer)
    {
        while (!buffer.IsEmpty)
        {
            var n = RandomAccess.Read(_file, buffer, offset);
            if (n == 0)
                throw new SeddException($"Token file of the {Split.Name()} split in '{Folder}' ended early (truncated while open?).", SeddException.BadInput);
            buffer = buffer[n..];
            offset += n;
        }
    }

    /// <summary>
    /// SHA-256 of the file, and every token id checked against the vocabulary on the way: an id the model
    /// has no row for is bad input found before training, not a crash inside the embedding at some step.
    /// </summary>
    static string HashAndCheckIds(SafeFileHandle handle, long length, TokenFileMeta meta, string path, CancellationToken cancel)
    {
        using var sha = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        const int chunk = 1 << 20; // a multiple of both token sizes
        var buffer = ArrayPool<byte>.Shared.Rent(chunk);
        int width = meta.BytesPerToken;
        try
        {
            long offset = 0;
            while (offset < length)
            {
                cancel.ThrowIfCancellationRequested();
                var span = buffer.AsSpan(0, (int)Math.Min(chunk, length - offset));
                int filled = 0;
                while (filled < span.Length)
                {
                    var n = RandomAccess.Read(handle, span[filled..], offset + filled);
                    if (n == 0)
                        throw new SeddException($"Token file '{path}' ended early (truncated while open?).", SeddException.BadInput);
                    filled += n;
                }
                sha.AppendData(span);
                for (var i = 0; i + width <= span.Length; i += width)
                {
                    long id = width == 2 ? BinaryPrimitives.ReadUInt16LittleEndian(span[i..]) : BinaryPrimitives.ReadInt32LittleEndian(span[i..]);
                    if (id < 0 || id >= meta.VocabSize)
                        throw new SeddException(
                            string.Create(CultureInfo.InvariantCulture,
                                $"'{path}' holds token id {id} at token {(offset + i) / width}; the vocabulary of meta.json has ids 0..{meta.VocabSize - 1} (file damaged or from another tokenizer; run prepare again)."),
                            SeddException.BadInput);
                }
                offset += span.Length;
            }
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
        return Convert.ToHexStringLower(sha.GetHashAndReset());
    }
}
