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
        "stratified by genre: documents sorted by id within each genre, genres interleaved by relative position "
        + "((k+0.5)/n, genre); in that order every 20th document from the 10th is valid, from the 20th is test";

    /// <summary>Human-readable rule of <see cref="ByHash"/>, written to <c>meta.json</c>.</summary>
    public const string HashRule =
        "by hash: u = first 8 bytes of SHA-256(UTF-8 id) as big-endian uint64 / 2^64; u < 0.05 valid, u < 0.10 test, else train";

    /// <summary>
    /// Genre-stratified split (used for Brown). Within each genre, documents are sorted by id (ordinal) and
    /// the k-th of n gets position (k + 0.5) / n; all documents are then ordered by (position, genre), which
    /// interleaves genres evenly. In that order (0-based index j), j mod 20 = 9 → valid, j mod 20 = 19 → test,
    /// else train: 5 % / 5 % / 90 %, with every genre spread across the three splits in proportion.
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
        var keyed = new List<(double Position, string Genre, string Id, int Index)>(ids.Count);
        foreach (var group in Enumerable.Range(0, ids.Count).GroupBy(i => genreOf(ids[i]), StringComparer.Ordinal))
        {
            var members = group.OrderBy(i => ids[i], StringComparer.Ordinal).ToList();
            for (var k = 0; k < members.Count; k++)
                keyed.Add(((k + 0.5) / members.Count, group.Key, ids[members[k]], members[k]));
        }
        keyed.Sort((a, b) =>
        {
            var c = a.Position.CompareTo(b.Position);
            if (c == 0)
                c = string.CompareOrdinal(a.Genre, b.Genre);
            return c != 0 ? c : string.CompareOrdinal(a.Id, b.Id);
        });
        var result = new DataSplit[ids.Count];
        for (var j = 0; j < keyed.Count; j++)
        {
            result[keyed[j].Index] = (j % 20) switch
            {
                9 => DataSplit.Valid,
                19 => DataSplit.Test,
                _ => DataSplit.Train,
            };
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
