using System.Text.Json.Nodes;

namespace Sedd.Trainer.Training;

/// <summary>
/// The message for an unknown config key: the closest known key when one is near ("did you mean
/// training.batch_size?") and the keys of the section the user was in, so a typo is fixed without
/// opening the documentation.
/// </summary>
public static class ConfigSuggestions
{
    /// <summary>"unknown config key 'training.bach_size'; did you mean 'training.batch_size'? training has: ...".</summary>
    /// <param name="path">The key as given.</param>
    /// <param name="defaults">The default config as JSON (every known key).</param>
    public static string UnknownKey(string path, JsonObject defaults)
    {
        ArgumentNullException.ThrowIfNull(path);
        ArgumentNullException.ThrowIfNull(defaults);
        var parts = path.Split('.');
        // The deepest section of the path that exists: the user meant one of its keys.
        var section = defaults;
        string sectionName = "";
        for (int i = 0; i < parts.Length - 1 && section[parts[i]] is JsonObject sub; i++)
        {
            section = sub;
            sectionName += (sectionName.Length > 0 ? "." : "") + parts[i];
        }
        var all = AllKeys(defaults, "");
        var best = Closest(path, all);
        var here = section.Select(p => p.Value is JsonObject ? p.Key + ".*" : p.Key);
        var listing = sectionName.Length > 0 ? $"{sectionName} has: {string.Join(", ", here)}" : $"top-level keys: {string.Join(", ", here)}";
        var hint = best is null ? "" : $"; did you mean '{best}'?";
        return $"unknown config key '{Shorten(path)}'{hint} ({listing}; 'sedd-train config' lists every key)";
    }

    /// <summary>The known key nearest to <paramref name="key"/> in edit distance, if near enough to be a typo.</summary>
    /// <param name="key">The key as given.</param>
    /// <param name="known">Known keys.</param>
    public static string? Closest(string key, IEnumerable<string> known)
    {
        ArgumentNullException.ThrowIfNull(known);
        string? best = null;
        int bestDistance = int.MaxValue;
        foreach (var k in known)
        {
            // Compare whole keys and, for a key given without its section ("batch_size"), the last part.
            int d = Math.Min(Distance(key, k), Distance(key, k[(k.LastIndexOf('.') + 1)..]) + 1);
            if (d < bestDistance) (best, bestDistance) = (k, d);
        }
        return bestDistance <= Math.Max(2, key.Length / 4) ? best : null;
    }

    static List<string> AllKeys(JsonObject o, string prefix)
    {
        var keys = new List<string>();
        foreach (var (k, v) in o)
            if (v is JsonObject sub) keys.AddRange(AllKeys(sub, prefix + k + "."));
            else keys.Add(prefix + k);
        return keys;
    }

    /// <summary>Levenshtein distance (insertions, deletions, substitutions), two rows.</summary>
    static int Distance(string a, string b)
    {
        if (a.Length > 200 || b.Length > 200) return int.MaxValue / 2; // not a typo of any key
        var previous = new int[b.Length + 1];
        var current = new int[b.Length + 1];
        for (int j = 0; j <= b.Length; j++) previous[j] = j;
        for (int i = 1; i <= a.Length; i++)
        {
            current[0] = i;
            for (int j = 1; j <= b.Length; j++)
                current[j] = Math.Min(Math.Min(current[j - 1] + 1, previous[j] + 1), previous[j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1));
            (previous, current) = (current, previous);
        }
        return previous[b.Length];
    }

    static string Shorten(string s) => s.Length <= 60 ? s : s[..57] + "...";
}
