using System.Diagnostics;
using System.Globalization;
using System.Reflection;
using System.Text;
using System.Text.RegularExpressions;
using Sedd.Runtime;

namespace Sedd.Load;

/// <summary>
/// The server being measured: a <c>sedd serve</c> this program starts on a free loopback port (and stops
/// with SIGTERM at the end), or one already running at a loopback URL. Resident memory comes from
/// /proc for a started server, else from its /metrics.
/// </summary>
sealed partial class ServerUnderTest : IDisposable
{
    readonly Process? process;
    readonly Queue<string> tail = new();

    ServerUnderTest(Uri url, Process? process)
    {
        Url = url;
        this.process = process;
        Client = new HttpClient { BaseAddress = url, Timeout = TimeSpan.FromMinutes(10) };
    }

    /// <summary>The built sedd CLI beside this program's build.</summary>
    public static string SeddDll { get; } = Path.GetFullPath(typeof(ServerUnderTest).Assembly.GetCustomAttributes<AssemblyMetadataAttribute>()
        .Single(a => a.Key == "SeddCli").Value!);

    public Uri Url { get; }

    public HttpClient Client { get; }

    /// <summary>Targets a running server; only loopback addresses are accepted.</summary>
    public static ServerUnderTest Target(string url)
    {
        if (!Uri.TryCreate(url, UriKind.Absolute, out var uri) || uri.Scheme != "http" || !uri.IsLoopback)
            throw new SeddException($"--url must be an http:// address on this machine's loopback (127.0.0.1, localhost, [::1]), got '{TerminalText.Neutralise(url, keepNewlines: false)}'", SeddException.Usage);
        return new ServerUnderTest(uri, null);
    }

    /// <summary>Starts <c>sedd serve</c> with <paramref name="args"/> on a free loopback port and waits until it is ready.</summary>
    public static ServerUnderTest Start(IEnumerable<string> args)
    {
        if (!File.Exists(SeddDll)) throw new SeddException($"{SeddDll} not found; build the solution first (dotnet build Sedd.sln -c Release)", SeddException.Environment);
        var start = new ProcessStartInfo(Environment.GetEnvironmentVariable("DOTNET_HOST_PATH") ?? "dotnet")
        {
            RedirectStandardError = true,
            RedirectStandardOutput = true,
            StandardErrorEncoding = Encoding.UTF8,
            UseShellExecute = false,
        };
        foreach (var a in (string[])[SeddDll, "serve", "--host", "127.0.0.1", "--port", "0", .. args]) start.ArgumentList.Add(a);
        var process = Process.Start(start) ?? throw new SeddException("sedd serve could not be started", SeddException.Environment);
        var lines = new List<string>();
        var ready = new TaskCompletionSource<Uri>(TaskCreationOptions.RunContinuationsAsynchronously);
        ServerUnderTest? server = null;
        _ = Task.Run(async () =>
        {
            while (await process.StandardError.ReadLineAsync().ConfigureAwait(false) is { } line)
            {
                if (server == null)
                {
                    lock (lines) lines.Add(line);
                    var m = Listening().Match(line);
                    if (m.Success) ready.TrySetResult(new Uri(m.Groups[1].Value));
                }
                else server.Remember(line);
            }
            ready.TrySetException(new SeddException($"sedd serve ended before it was ready: {string.Join(" | ", lines)}", SeddException.Environment));
        });
        if (!ready.Task.Wait(TimeSpan.FromMinutes(2)))
        {
            process.Kill(entireProcessTree: true);
            throw new SeddException("sedd serve did not become ready within 2 minutes", SeddException.Environment);
        }
        server = new ServerUnderTest(ready.Task.Result, process);
        return server;
    }

    void Remember(string line)
    {
        lock (tail)
        {
            tail.Enqueue(line);
            while (tail.Count > 5) tail.Dequeue();
        }
    }

    /// <summary>The last lines the server logged.</summary>
    public string Tail
    {
        get { lock (tail) return string.Join(" | ", tail); }
    }

    /// <summary>Resident memory of the server process in bytes.</summary>
    public async Task<long> ResidentBytesAsync()
    {
        if (process != null)
        {
            var line = File.ReadLines($"/proc/{process.Id}/status").First(l => l.StartsWith("VmRSS:", StringComparison.Ordinal));
            return long.Parse(line.Split(' ', StringSplitOptions.RemoveEmptyEntries)[1], CultureInfo.InvariantCulture) * 1024;
        }
        return (long)Metric(await MetricsAsync().ConfigureAwait(false), "process_working_set_bytes");
    }

    public Task<string> MetricsAsync() => Client.GetStringAsync(new Uri("/metrics", UriKind.Relative));

    /// <summary>A metric's value in Prometheus text, summed over its label sets (0 when absent).</summary>
    public static double Metric(string metrics, string name) =>
        metrics.Split('\n').Where(l => l.StartsWith(name, StringComparison.Ordinal) && (l.Length == name.Length || l[name.Length] is ' ' or '{'))
            .Sum(l => double.Parse(l[(l.LastIndexOf(' ') + 1)..], CultureInfo.InvariantCulture));

    public void Dispose()
    {
        Client.Dispose();
        if (process == null) return;
        try
        {
            if (!process.HasExited)
            {
                using var kill = Process.Start("kill", ["-TERM", process.Id.ToString(CultureInfo.InvariantCulture)]);
                kill?.WaitForExit();
                if (!process.WaitForExit(TimeSpan.FromSeconds(15))) process.Kill(entireProcessTree: true);
            }
        }
        catch (InvalidOperationException) { }
        process.Dispose();
    }

    [GeneratedRegex(@"listening on (http://\S+)")]
    private static partial Regex Listening();
}
