namespace Sedd.Trainer.Data;

/// <summary>One document of a corpus: EOS is appended after each one when it is tokenized (spec §7).</summary>
/// <param name="Id">Stable identifier: a Brown file name (<c>ca01</c>) or a path relative to the corpus folder with '/' separators.</param>
/// <param name="Text">The document's text, non-empty.</param>
public sealed record CorpusDocument(string Id, string Text);
