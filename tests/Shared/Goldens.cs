using System.Text.Json.Nodes;
using Xunit.Sdk;

namespace Sedd.Tests;

/// <summary>Comparison limits of shared/goldens/README.md: |got − expected| ≤ atol + rtol·|expected|.</summary>
public readonly record struct Tolerance(double Rtol, double Atol)
{
    /// <summary>Float32 implementations (all files, model_forward included).</summary>
    public static Tolerance Float32 => new(1e-4, 1e-5);

    /// <summary>Float64 implementations, except model_forward.</summary>
    public static Tolerance Float64 => new(1e-9, 1e-12);

    /// <summary>Float64 model_forward.</summary>
    public static Tolerance Float64Model => new(1e-8, 1e-10);
}

/// <summary>
/// Reads the golden files from the folder named by SEDD_GOLDENS (default ../shared/goldens beside
/// the repository). A relative SEDD_GOLDENS is taken relative to the repository root.
/// </summary>
public static class Goldens
{
    static readonly Dictionary<string, JsonObject> Cache = [];

    public static string RepoRoot { get; } = FindRepoRoot();

    public static string Folder { get; } = ResolveFolder();

    static string FindRepoRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir != null; dir = dir.Parent)
            if (File.Exists(Path.Combine(dir.FullName, "Sedd.sln"))) return dir.FullName;
        throw new InvalidOperationException("cannot find Sedd.sln above " + AppContext.BaseDirectory);
    }

    static string ResolveFolder()
    {
        var env = Environment.GetEnvironmentVariable("SEDD_GOLDENS");
        var folder = string.IsNullOrWhiteSpace(env) ? Path.Combine(RepoRoot, "..", "shared", "goldens") : Path.Combine(RepoRoot, env);
        return Path.GetFullPath(folder);
    }

    public static string PathOf(string file) => Path.Combine(Folder, file);

    /// <summary>The whole file, parsed once per test run.</summary>
    public static JsonObject Load(string file)
    {
        lock (Cache)
        {
            if (Cache.TryGetValue(file, out var o)) return o;
            var path = PathOf(file);
            if (!File.Exists(path)) throw new FileNotFoundException($"golden file {path} not found (set SEDD_GOLDENS to the goldens folder)");
            o = JsonNode.Parse(File.ReadAllText(path))!.AsObject();
            Cache[file] = o;
            return o;
        }
    }

    public static IEnumerable<JsonObject> Cases(string file) => Load(file)["cases"]!.AsArray().Select(c => c!.AsObject());

    public static JsonObject Case(string file, string name) =>
        Cases(file).FirstOrDefault(c => (string?)c["name"] == name) ?? throw new ArgumentException($"{file} has no case {name}");

    /// <summary>xunit MemberData: one row per case name of <paramref name="file"/>.</summary>
    public static TheoryData<string> CaseNames(string file)
    {
        var data = new TheoryData<string>();
        foreach (var c in Cases(file)) data.Add((string)c["name"]!);
        return data;
    }

    /// <summary>Flattens a nested JSON array (row-major) to doubles plus its shape.</summary>
    public static (double[] Data, int[] Shape) Tensor(JsonNode node)
    {
        var shape = new List<int>();
        for (var n = node; n is JsonArray a; n = a.Count > 0 ? a[0] : null) shape.Add(a.Count);
        var data = new List<double>();
        void Walk(JsonNode? n)
        {
            if (n is JsonArray a) foreach (var x in a) Walk(x);
            else data.Add(n!.GetValue<double>());
        }
        Walk(node);
        return ([.. data], [.. shape]);
    }

    public static double[] Doubles(JsonNode node) => Tensor(node).Data;

    public static long[] Longs(JsonNode node) => Array.ConvertAll(Tensor(node).Data, d => checked((long)d));

    public static int[] Shape(JsonNode node) => Tensor(node).Shape;

    /// <summary>Elementwise |got − expected| ≤ atol + rtol·|expected|; on failure names the case, field and first bad index.</summary>
    public static void AssertClose(string caseName, string field, ReadOnlySpan<double> expected, ReadOnlySpan<double> actual, Tolerance tol, int[]? shape = null)
    {
        if (expected.Length != actual.Length)
            throw new XunitException($"{caseName}.{field}: expected {expected.Length} values, got {actual.Length}");
        for (int i = 0; i < expected.Length; i++)
        {
            double e = expected[i], a = actual[i];
            bool ok = double.IsNaN(e) ? double.IsNaN(a) : Math.Abs(a - e) <= tol.Atol + tol.Rtol * Math.Abs(e) || (double.IsInfinity(e) && e == a);
            if (!ok)
                throw new XunitException($"{caseName}.{field}: first mismatch at index {FormatIndex(i, shape)}: expected {e:R}, got {a:R} (rtol {tol.Rtol}, atol {tol.Atol})");
        }
    }

    public static void AssertClose(string caseName, string field, JsonNode expected, ReadOnlySpan<double> actual, Tolerance tol)
    {
        var (data, shape) = Tensor(expected);
        AssertClose(caseName, field, data, actual, tol, shape);
    }

    /// <summary>Exact comparison for integer tensors (token ids, integer-valued rates).</summary>
    public static void AssertEqual(string caseName, string field, ReadOnlySpan<long> expected, ReadOnlySpan<long> actual, int[]? shape = null)
    {
        if (expected.Length != actual.Length)
            throw new XunitException($"{caseName}.{field}: expected {expected.Length} values, got {actual.Length}");
        for (int i = 0; i < expected.Length; i++)
            if (expected[i] != actual[i])
                throw new XunitException($"{caseName}.{field}: first mismatch at index {FormatIndex(i, shape)}: expected {expected[i]}, got {actual[i]}");
    }

    public static void AssertEqual(string caseName, string field, JsonNode expected, ReadOnlySpan<long> actual) =>
        AssertEqual(caseName, field, Longs(expected), actual, Shape(expected));

    static string FormatIndex(int flat, int[]? shape)
    {
        if (shape == null || shape.Length <= 1) return flat.ToString(System.Globalization.CultureInfo.InvariantCulture);
        var idx = new int[shape.Length];
        for (int d = shape.Length - 1, r = flat; d >= 0; d--) { idx[d] = r % shape[d]; r /= shape[d]; }
        return $"{flat} [{string.Join(", ", idx)}]";
    }
}
