using Sedd.Runtime;
using Sedd.Trainer.Data;

namespace Sedd.Trainer.Tests.Data;

public class BrownCorpusTest
{
    internal const int SampleCount = 4;

    /// <summary>Four short Brown-format files made of real corpus lines (ca01, cb01, ck01, cr01 openings).</summary>
    internal static void WriteSample(TempFolder t, string folder)
    {
        t.Write(folder + "/ca01",
            "\n\n\tThe/at Fulton/np-tl County/nn-tl Grand/jj-tl Jury/nn-tl said/vbd Friday/nr an/at investigation/nn of/in Atlanta's/np$ recent/jj primary/nn election/nn produced/vbd ``/`` no/at evidence/nn ''/'' that/cs any/dti irregularities/nns took/vbd place/nn ./.\n\n\n"
            + "\tThe/at jury/nn further/rbr said/vbd in/in term-end/nn presentments/nns that/cs the/at City/nn-tl Executive/jj-tl Committee/nn-tl ,/, which/wdt had/hvd over-all/jj charge/nn of/in the/at election/nn ,/, ``/`` deserves/vbz the/at praise/nn and/cc thanks/nns of/in the/at City/nn-tl of/in-tl Atlanta/np-tl ''/'' for/in the/at manner/nn in/in which/wdt the/at election/nn was/bedz conducted/vbn ./.\n");
        t.Write(folder + "/cb01",
            "\n\nAssembly/nn-hl session/nn-hl brought/vbd-hl much/ap-hl good/nn-hl \n"
            + "The/at General/jj-tl Assembly/nn-tl ,/, which/wdt adjourns/vbz today/nr ,/, has/hvz performed/vbn in/in an/at atmosphere/nn of/in crisis/nn ./.\n");
        t.Write(folder + "/ck01",
            "\n\n\nThirty-three/cd-hl \nScotty/np did/dod not/* go/vb back/rb to/in school/nn ./.\n\n\n"
            + "\t``/`` The/at blueberry/nn pie/nn is/bez good/jj ,/, Scotty/np ./.\nI/ppss recommend/vb it/ppo ''/'' ./.\n");
        t.Write(folder + "/cr01",
            "\n\n\tYes/rb ,/, with/in Bob/np Grove/np ,/, Art/np Nehf/np ,/, et/fw-cc al/fw-nns ./.\n");
        t.Write(folder + "/README", "not a document");
        t.Write(folder + "/cats.txt", "ca01 news");
    }

    [Fact]
    public void BrownCorpusTest_Read()
    {
        using var t = new TempFolder();
        WriteSample(t, "brown");
        var docs = BrownCorpus.Read(t.Combine("brown"));
        Assert.Equal(["ca01", "cb01", "ck01", "cr01"], docs.Select(d => d.Id));
        Assert.StartsWith("The Fulton County Grand Jury said Friday", docs[0].Text, StringComparison.Ordinal);
        Assert.Contains("took place.\n\nThe jury further said", docs[0].Text, StringComparison.Ordinal);
        Assert.Equal("Assembly session brought much good\n\nThe General Assembly, which adjourns today, has performed in an atmosphere of crisis.", docs[1].Text);
        Assert.Equal("Thirty-three\n\nScotty did not go back to school.\n\n\"The blueberry pie is good, Scotty. I recommend it\".", docs[2].Text);
        Assert.Equal('k', BrownCorpus.Genre(docs[2].Id));
    }

    [Fact]
    public void BrownCorpusTest_LocateGivenFolder()
    {
        using var t = new TempFolder();
        WriteSample(t, "brown");
        Assert.Equal(t.Combine("brown"), BrownCorpus.Locate(t.Combine("brown"), t.Combine("cache")));
        Assert.False(Directory.Exists(t.Combine("cache")));

        t.Write("notbrown/file.txt", "x");
        var e = Assert.Throws<SeddException>(() => BrownCorpus.Locate(t.Combine("notbrown"), t.Combine("cache")));
        Assert.Equal(SeddException.BadInput, e.ExitCode);
        e = Assert.Throws<SeddException>(() => BrownCorpus.Locate(t.Combine("missing"), t.Combine("cache")));
        Assert.Equal(SeddException.BadInput, e.ExitCode);
    }

    [Fact]
    public void BrownCorpusTest_LocateUsesCache()
    {
        using var t = new TempFolder();
        WriteSample(t, "cache/" + BrownCorpus.CacheFolderName);
        // Found in the cache: npm is never run (it would fail here without network).
        Assert.Equal(t.Combine("cache", BrownCorpus.CacheFolderName), BrownCorpus.Locate(null, t.Combine("cache")));
    }

    [Fact]
    public void BrownCorpusTest_UnwritableCache()
    {
        using var t = new TempFolder();
        var blocker = t.Write("blocker", "file");
        var e = Assert.Throws<SeddException>(() => BrownCorpus.Locate(null, Path.Combine(blocker, "cache")));
        Assert.Equal(SeddException.Environment, e.ExitCode);
    }

    [Theory]
    [InlineData("ca01", true)]
    [InlineData("cr09", true)]
    [InlineData("cs01", false)]
    [InlineData("ca1", false)]
    [InlineData("ca01.txt", false)]
    [InlineData("README", false)]
    public void BrownCorpusTest_DocumentNames(string name, bool isDocument) =>
        Assert.Equal(isDocument, BrownCorpus.IsDocumentName(name));
}
