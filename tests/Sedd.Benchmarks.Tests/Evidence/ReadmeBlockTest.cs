using Sedd.Evidence;
using Sedd.Runtime;

namespace Sedd.Benchmarks.Tests.Evidence;

public class ReadmeBlockTest
{
    [Fact]
    public void ReadmeBlockTest_OnlyTheTextBetweenTheMarkersChanges()
    {
        var readme = $"# T\n\nbefore\n{ReadmeBlock.Begin}\nold\n{ReadmeBlock.End}\n\nafter\n";
        var replaced = ReadmeBlock.Replace(readme, "new table\n");
        Assert.Equal($"# T\n\nbefore\n{ReadmeBlock.Begin}\nnew table\n{ReadmeBlock.End}\n\nafter\n", replaced);
        Assert.Equal(replaced, ReadmeBlock.Replace(replaced, "new table"));
    }

    [Fact]
    public void ReadmeBlockTest_WithoutMarkersTheBlockGoesAtTheEndOfTheResultsSection()
    {
        var readme = "# T\n\n## Results so far\n\ntext\n\n## Next\n\nmore\n";
        var replaced = ReadmeBlock.Replace(readme, "block");
        Assert.Equal($"# T\n\n## Results so far\n\ntext\n\n{ReadmeBlock.Begin}\nblock\n{ReadmeBlock.End}\n\n## Next\n\nmore\n", replaced);
    }

    [Fact]
    public void ReadmeBlockTest_OneMarkerAloneIsRefused()
    {
        var e = Assert.Throws<SeddException>(() => ReadmeBlock.Replace($"x\n{ReadmeBlock.End}\ny\n{ReadmeBlock.Begin}\n", "b"));
        Assert.Equal(SeddException.BadInput, e.ExitCode);
    }
}
