using System.Buffers.Binary;
using System.Security.Cryptography;
using System.Text;
using Sedd.Runtime;

namespace Sedd.Trainer.Data;

/// <summary>
/// Deterministic train/valid/test assignment by whole document (no document is cut across splits).
/// Both rules depend only on document ids, never on a random seed, the machine or the text.
/// After either rule, an empty split is filled by moving one document into it (see <see cref="FillEmpty"/>),
/// so all three are non-empty for any corpus of at least 3 documents.
/// </summary>
public static class DocumentSplitter
{
    /// <summary>Fewest documents that can give three non-empty splits.</summary>
    public const int MinDocuments = 3;

    /// <summary>Human-readable rule of <see cref="ByGenre"/>, written to <c>meta.json</c>.</summary>
    public const string GenreRule =
        "stratified by genre: in each genre of n documents sorted by id, M = floor(n/20 + 1/2); "
        + "documents floor((m+1/4)n/M) are valid and floor((m+3/4)n/M) are test for m = 0..M-1; the rest train";

    /// <summary>Human-readable rule of <see cref="ByHash"/>, written to <c>meta.json</c>.</summary>
    public const string HashRule =
        "by hash: u = first 8 bytes of SHA-256(UTF-8 id) as big-endian uint64 / 2^64; u < 0.05 valid, u < 0.10 test, else train";

    /// <summary>
    /// Genre-stratified systematic split (used for Brown). Each genre is split on its own: its n documents
    /// are sorted by id (ordinal), M = floor(n/20 + 1/2) documents (5 %, rounded) go to valid and M to test,
    /// taken evenly through the genre: for m = 0..M−1, document floor((m + 1/4)·n/M) is valid and
    /// floor((m + 3/4)·n/M) is test (the two never coincide). Every genre of at least 10 documents thus
    /// reaches all three splits; smaller genres stay in train.
    /// </summary>
    /// <param name="ids">Document ids (distinct).</param>
    /// <param name="genreOf">Genre of an id, e.g. <see cref="BrownCorpus.Genre"/>.</param>
    /// <returns>The split of each id, aligned with <paramref name="ids"/>.</returns>
    /// <exception cref="SeddException">Fewer than <see cref="MinDocuments"/> documents (exit code 2).</exception>
    public static DataSplit[] ByGenre(IReadOnlyList<string> ids, Func<string, string> genreOf)
    {
        ArgumentNullException.ThrowIfNull(ids);
        ArgumentNullException.ThrowIfNull(genreOf);
        CheckCount(ids.Count);
        var result = new DataSplit[ids.Count]; // all Train
        foreach (var group in Enumerable.Range(0, ids.Count).GroupBy(i => genreOf(ids[i]), StringComparer.Ordinal))
        {
            var members = group.OrderBy(i => ids[i], StringComparer.Ordinal).ToArray();
            var n = members.Length;
            var m = (int)Math.Floor(n / 20.0 + 0.5);
            for (var k = 0; k < m; k++)
            {
                // Integer form of floor((k + 1/4) n / M) and floor((k + 3/4) n / M): no rounding drift.
                result[members[(4 * k + 1) * n / (4 * m)]] = DataSplit.Valid;
                result[members[(4 * k + 3) * n / (4 * m)]] = DataSplit.Test;
            }
        }
        FillEmpty(ids, result);
        return result;
    }

    /// <summary>
    /// Hash split (used for plain text): u = first 8 bytes of SHA-256 of the UTF-8 id, read as a big-endian
    /// unsigned integer, divided by 2^64. u &lt; 0.05 → valid, 0.05 ≤ u &lt; 0.10 → test, else train. A document's
    /// split depends only on its own id, so adding or removing files never moves other documents
    /// (except through <see cref="FillEmpty"/> on tiny corpora).
    /// </summary>
    /// <param name="ids">Document ids (distinct), e.g. relative paths.</param>
    /// <returns>The split of each id, aligned with <paramref name="ids"/>.</returns>
    /// <exception cref="SeddException">Fewer than <see cref="MinDocuments"/> documents (exit code 2).</exception>
    public static DataSplit[] ByHash(IReadOnlyList<string> ids)
    {
        ArgumentNullException.ThrowIfNull(ids);
        CheckCount(ids.Count);
        var result = new DataSplit[ids.Count];
        for (var i = 0; i < ids.Count; i++)
        {
            var u = HashFraction(ids[i]);
            result[i] = u < 0.05 ? DataSplit.Valid : u < 0.10 ? DataSplit.Test : DataSplit.Train;
        }
        FillEmpty(ids, result);
        return result;
    }

    /// <summary>The fraction u in [0, 1) that <see cref="ByHash"/> assigns to <paramref name="id"/>.</summary>
    /// <param name="id">A document id.</param>
    public static double HashFraction(string id)
    {
        ArgumentNullException.ThrowIfNull(id);
        Span<byte> hash = stackalloc byte[SHA256.HashSizeInBytes];
        SHA256.HashData(Encoding.UTF8.GetBytes(id), hash);
        return BinaryPrimitives.ReadUInt64BigEndian(hash) / 18446744073709551616.0; // 2^64
    }

    /// <summary>
    /// For each empty split in the order train, valid, test: move into it the document with the
    /// ordinal-greatest id from the currently largest split (ties: train, valid, test). With at least three
    /// documents the donor always keeps one, so the result has no empty split.
    /// </summary>
    static void FillEmpty(IReadOnlyList<string> ids, DataSplit[] splits)
    {
        foreach (var target in DataSplits.All)
        {
            if (Array.IndexOf(splits, target) >= 0)
                continue;
            var donor = DataSplits.All.OrderByDescending(s => splits.Count(x => x == s)).First();
            var pick = -1;
            for (var i = 0; i < splits.Length; i++)
            {
                if (splits[i] == donor && (pick < 0 || string.CompareOrdinal(ids[i], ids[pick]) > 0))
                    pick = i;
            }
            splits[pick] = target;
        }
    }

    static void CheckCount(int count)
    {
        if (count < MinDocuments)
            throw new SeddException(
                $"The corpus has {count} non-empty document(s); at least {MinDocuments} are needed for train, valid and test splits.",
                SeddException.BadInput);
    }
}
