using System.Diagnostics;
using System.Globalization;
using System.Net.Http.Headers;
using System.Reflection;
using System.Text;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using Sedd.Tests.Shared;

namespace Sedd.Server.Tests;

/// <summary>
/// <c>sedd serve</c> as a child process on a real loopback port, as a user starts it: its stderr lines
/// are collected (the "listening on URL" line gives the port when started with --port 0), and
/// <see cref="Signal"/> sends SIGINT or SIGTERM. Disposing kills what is still running.
/// </summary>
sealed partial class ServerProcess : IDisposable
{
    static readonly TimeSpan StartLimit = TimeSpan.FromMinutes(2);

    readonly Process process;
    readonly List<string> lines = [];
    readonly Task reader;
    readonly Task<string> stdout;

    ServerProcess(Process process)
    {
        this.process = process;
        stdout = process.StandardOutput.ReadToEndAsync();
        reader = Task.Run(async () =>
        {
            while (await process.StandardError.ReadLineAsync().ConfigureAwait(false) is { } line)
                lock (lines) lines.Add(line);
        });
    }

    public static string Dll { get; } = Path.GetFullPath(typeof(ServerProcess).Assembly.GetCustomAttributes<AssemblyMetadataAttribute>()
        .Single(a => a.Key == "SeddCli").Value!);

    /// <summary>The server's base URL, e.g. http://127.0.0.1:40123 (once ready).</summary>
    public Uri Url { get; private set; } = new("http://127.0.0.1:1");

    public HttpClient Client { get; private set; } = new();

    public Process Process => process;

    /// <summary>Every stderr line so far.</summary>
    public string[] Lines
    {
        get { lock (lines) return [.. lines]; }
    }

    public string Log => string.Join('\n', Lines);

    /// <summary>Starts <c>sedd serve --provider cpu ARGS</c> without waiting for it.</summary>
    public static ServerProcess Launch(IReadOnlyDictionary<string, string>? environment, params string[] args)
    {
        Assert.True(File.Exists(Dll), $"{Dll} not found: the test project must reference (and so build) the CLI");
        // A process started in the background by a non-interactive shell ignores SIGINT, and so would the
        // server started from it (the runtime keeps an inherited SIG_IGN); `env --default-signal=INT` gives
        // the server the disposition it has when a user starts it in a terminal.
        var start = new ProcessStartInfo("env")
        {
            WorkingDirectory = Path.GetTempPath(),
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            StandardOutputEncoding = Encoding.UTF8,
            StandardErrorEncoding = Encoding.UTF8,
            UseShellExecute = false,
        };
        foreach (var a in (string[])["--default-signal=INT", Environment.GetEnvironmentVariable("DOTNET_HOST_PATH") ?? "dotnet", Dll, "serve", "--provider", "cpu", .. args])
            start.ArgumentList.Add(a);
        start.Environment.Remove("SEDD_DEBUG");
        start.Environment.Remove("SEDD_MODEL");
        start.Environment.Remove("SEDD_API_KEY");
        if (environment != null)
            foreach (var (k, v) in environment) start.Environment[k] = v;
        return new ServerProcess(Process.Start(start)!);
    }

    /// <summary>Starts a server and waits until it listens with the model loaded.</summary>
    public static ServerProcess Start(string model, params string[] args) => Start(model, null, args);

    public static ServerProcess Start(string model, IReadOnlyDictionary<string, string>? environment, params string[] args)
    {
        var server = Launch(environment, ["--model", model, "--port", "0", .. args]);
        try
        {
            server.WaitReady();
            return server;
        }
        catch
        {
            server.Dispose();
            throw;
        }
    }

    /// <summary>Waits for the "listening on" line; fails with the log if the process ends first.</summary>
    public void WaitReady()
    {
        var line = WaitForLine(l => l.Contains("listening on http://", StringComparison.Ordinal), StartLimit);
        Url = new Uri(ListeningUrl().Match(line).Groups[1].Value);
        Client = new HttpClient { BaseAddress = Url, Timeout = TimeSpan.FromMinutes(2) };
    }

    /// <summary>Waits for a stderr line matching <paramref name="match"/>.</summary>
    public string WaitForLine(Func<string, bool> match, TimeSpan within)
    {
        var clock = Stopwatch.StartNew();
        while (clock.Elapsed < within)
        {
            if (Lines.FirstOrDefault(match) is { } found) return found;
            if (process.HasExited)
            {
                reader.Wait(TimeSpan.FromSeconds(5));
                if (Lines.FirstOrDefault(match) is { } last) return last;
                Assert.Fail($"sedd serve exited with {process.ExitCode} before the expected line; stderr:\n{Log}");
            }
            Thread.Sleep(20);
        }
        Assert.Fail($"sedd serve printed no expected line within {within.TotalSeconds} s; stderr:\n{Log}");
        return "";
    }

    /// <summary>Sends SIGINT ("INT") or SIGTERM ("TERM").</summary>
    public void Signal(string name)
    {
        var kill = ToolProcess.RunExecutable("kill", "-" + name, process.Id.ToString(CultureInfo.InvariantCulture));
        Assert.True(kill.Code == 0, kill.ToString());
    }

    /// <summary>Waits for the process to end; its exit code, stdout and stderr.</summary>
    public ToolResult WaitForExit(TimeSpan within)
    {
        bool ended = process.WaitForExit(within);
        if (!ended) process.Kill(entireProcessTree: true);
        Assert.True(ended, $"sedd serve did not end within {within.TotalSeconds} s; stderr:\n{Log}");
        process.WaitForExit();
        reader.Wait(TimeSpan.FromSeconds(10));
        return new ToolResult(process.ExitCode, stdout.Result, Log);
    }

    /// <summary>POSTs a JSON body; the status and the parsed reply.</summary>
    public async Task<(int Status, JsonNode? Body, HttpResponseMessage Response)> PostAsync(string path, string json, string? apiKey = null, CancellationToken cancel = default)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, path) { Content = new StringContent(json, Encoding.UTF8, "application/json") };
        if (apiKey != null) request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", apiKey);
        var response = await Client.SendAsync(request, cancel);
        var text = await response.Content.ReadAsStringAsync(cancel);
        JsonNode? body = null;
        try { body = text.Length > 0 ? JsonNode.Parse(text) : null; }
        catch (System.Text.Json.JsonException) { Assert.Fail($"the reply is not JSON ({(int)response.StatusCode}): {text}"); }
        return ((int)response.StatusCode, body, response);
    }

    /// <summary>GETs a path; the status and the text.</summary>
    public async Task<(int Status, string Text)> GetAsync(string path, string? apiKey = null)
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, path);
        if (apiKey != null) request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", apiKey);
        using var response = await Client.SendAsync(request);
        return ((int)response.StatusCode, await response.Content.ReadAsStringAsync());
    }

    /// <summary>Waits until a metric (summed over its labels) reads <paramref name="value"/>.</summary>
    public async Task WaitForMetric(string name, double value)
    {
        var clock = Stopwatch.StartNew();
        double last = double.NaN;
        while (clock.Elapsed < TimeSpan.FromSeconds(60))
        {
            last = Metric((await GetAsync("/metrics")).Text, name);
            if (last == value) return;
            await Task.Delay(50);
        }
        Assert.Fail($"{name} stayed at {last}, expected {value}; log:\n{Log}");
    }

    /// <summary>A metric's value in Prometheus text, summed over its label sets (0 when absent).</summary>
    public static double Metric(string metrics, string name) =>
        metrics.Split('\n').Where(l => l.StartsWith(name, StringComparison.Ordinal) && (l.Length == name.Length || l[name.Length] is ' ' or '{'))
            .Sum(l => double.Parse(l[(l.LastIndexOf(' ') + 1)..], CultureInfo.InvariantCulture));

    /// <summary>Fails if any log line holds a stack trace or more than one line's worth of error.</summary>
    public void AssertNoStackTraces()
    {
        foreach (var line in Lines)
        {
            Assert.DoesNotContain("   at ", line, StringComparison.Ordinal);
            Assert.DoesNotContain("Unhandled", line, StringComparison.Ordinal);
            Assert.StartsWith("sedd: ", line, StringComparison.Ordinal);
        }
    }

    public void Dispose()
    {
        Client.Dispose();
        try
        {
            if (!process.HasExited) process.Kill(entireProcessTree: true);
            process.WaitForExit(10_000);
        }
        catch (InvalidOperationException) { }
        process.Dispose();
    }

    [GeneratedRegex(@"listening on (http://\S+)")]
    private static partial Regex ListeningUrl();
}
