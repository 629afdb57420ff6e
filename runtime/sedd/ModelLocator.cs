using Sedd.Runtime;
using Sedd.Runtime.Package;

namespace Sedd.Cli;

/// <summary>
/// Which package a command uses: <c>--model DIR</c>; else <c>$SEDD_MODEL</c>; else the single package
/// under a <c>models/</c> folder found by walking up from the current directory and then from the
/// executable's folder (a repository checkout or an unpacked release both work).
/// </summary>
static class ModelLocator
{
    public const string EnvironmentVariable = "SEDD_MODEL";

    public static string Resolve(string? model)
    {
        // An explicit --model '' is a mistake, not a request for the default model.
        if (model != null) return Sedd.Runtime.IO.UserFiles.RequirePathArgument(model, "--model");
        var env = Environment.GetEnvironmentVariable(EnvironmentVariable);
        if (!string.IsNullOrWhiteSpace(env)) return env;
        foreach (var start in new[] { Environment.CurrentDirectory, AppContext.BaseDirectory })
        {
            for (var dir = new DirectoryInfo(start); dir != null; dir = dir.Parent)
            {
                var models = Path.Combine(dir.FullName, "models");
                if (!Directory.Exists(models)) continue;
                // Hidden folders are work in progress (sedd-export builds and replaces packages through
                // .NAME.sedd-export-* folders), as are the .tmp-/.old- folders of earlier exporters: never packages.
                var packages = Directory.GetDirectories(models)
                    .Where(d => !IsTransient(Path.GetFileName(d)) && File.Exists(Path.Combine(d, ModelPackage.ManifestFile)))
                    .Order(StringComparer.Ordinal).ToArray();
                if (packages.Length == 1) return packages[0];
                if (packages.Length > 1)
                    throw new SeddException($"{models} holds {packages.Length} packages ({string.Join(", ", packages.Select(Path.GetFileName))}); choose one with --model", SeddException.Usage);
            }
        }
        throw new SeddException($"no model package found: pass --model DIR, set {EnvironmentVariable}, or export one into models/ (sedd-export, see README.md)", SeddException.BadInput);
    }

    public static ModelPackage Open(string? model) => ModelPackage.Open(Resolve(model));

    static bool IsTransient(string name) =>
        name.StartsWith('.') || System.Text.RegularExpressions.Regex.IsMatch(name, @"\.(tmp|old)-\d+-[0-9a-f]{8}$");
}
