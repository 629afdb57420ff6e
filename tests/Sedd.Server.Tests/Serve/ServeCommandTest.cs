using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using Sedd.Runtime;
using Sedd.Runtime.Tests.Onnx;
using Sedd.Tests.Shared;

namespace Sedd.Server.Tests.Serve;

/// <summary>sedd serve as a process: start-up (503 until loaded), bad options and environments in one line, and signals.</summary>
public sealed class ServeCommandTest
{
    static ToolResult Serve(params string[] args) => ToolProcess.Run(ServerProcess.Dll, Path.GetTempPath(), null, ["serve", "--provider", "cpu", .. args]);

    static int FreePort()
    {
        using var l = new TcpListener(IPAddress.Loopback, 0);
        l.Start();
        return ((IPEndPoint)l.LocalEndpoint).Port;
    }

    [Fact]
    public async Task ServeCommandTest_HealthIs503UntilTheModelIsLoaded()
    {
        // The default model (tens of MB to verify and start) keeps the server loading for a few hundred ms.
        // A busy machine can still let the load finish before the first request gets through, so the server
        // is started up to three times: one start must show the loading phase (503s, then 200), and no start
        // may answer anything but 503 before its 200.
        var model = Directory.GetDirectories(Path.Combine(Sedd.Tests.Goldens.RepoRoot, "models")).Single(d => File.Exists(Path.Combine(d, "manifest.json")));
        var starts = new List<string>();
        for (int attempt = 0; attempt < 3; attempt++)
        {
            var (seen, retryAfter) = await StartAndPollHealth(model);
            starts.Add(string.Join(", ", seen));
            Assert.Equal(200, seen.LastOrDefault());
            Assert.True(seen.SkipLast(1).All(s => s == 503), $"health answered {string.Join(", ", seen)}; expected 503 while loading, then 200");
            Assert.All(retryAfter, Assert.True);
            if (seen.Count >= 2) return;
        }
        Assert.Fail($"no start showed the loading phase (health answers per start: {string.Join(" | ", starts)})");
    }

    static async Task<(List<int> Seen, List<bool> RetryAfter)> StartAndPollHealth(string model)
    {
        int port = FreePort();
        using var client = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{port}"), Timeout = TimeSpan.FromSeconds(10) };
        // The client's first request and first refused connection are slow (code compiled on first use):
        // made before the server starts, they cannot eat up the time it spends loading. The polling runs
        // on a thread of its own with blocking calls, so that other tests keeping the thread pool busy
        // cannot delay it past the loading either.
        await WarmUp(client);
        using var server = ServerProcess.Launch(null, "--model", model, "--port", port.ToString(System.Globalization.CultureInfo.InvariantCulture));
        var seen = new List<int>();
        var retryAfter = new List<bool>();
        var poller = new Thread(() =>
        {
            var clock = Stopwatch.StartNew();
            while (clock.Elapsed < TimeSpan.FromMinutes(2) && !server.Process.HasExited)
            {
                try
                {
                    using var r = client.Send(new HttpRequestMessage(HttpMethod.Get, new Uri("/health", UriKind.Relative)));
                    seen.Add((int)r.StatusCode);
                    if (r.StatusCode == HttpStatusCode.OK) break;
                    // While loading, the API answers 503 in OpenAI's shape with Retry-After.
                    using var c = client.Send(new HttpRequestMessage(HttpMethod.Post, new Uri("/v1/completions", UriKind.Relative)) { Content = new StringContent("{}") });
                    if (c.StatusCode == HttpStatusCode.ServiceUnavailable) retryAfter.Add(c.Headers.RetryAfter != null);
                }
                catch (HttpRequestException) { }
                Thread.Sleep(2);
            }
        }) { IsBackground = true };
        poller.Start();
        poller.Join();
        Assert.False(server.Process.HasExited, server.Log);
        server.WaitForLine(l => l.Contains("listening on", StringComparison.Ordinal), TimeSpan.FromSeconds(30));
        return (seen, retryAfter);
    }

    // One request answered 503 by a bare listener, and one refused connection, both through the blocking calls.
    static async Task WarmUp(HttpClient client)
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        int port = ((IPEndPoint)listener.LocalEndpoint).Port;
        var answer = Task.Run(async () =>
        {
            using var connection = await listener.AcceptTcpClientAsync();
            var stream = connection.GetStream();
            var buffer = new byte[4096];
            _ = await stream.ReadAsync(buffer);
            await stream.WriteAsync("HTTP/1.1 503 Service Unavailable\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"u8.ToArray());
        });
        var uri = new Uri($"http://127.0.0.1:{port}/health");
        using (var r = client.Send(new HttpRequestMessage(HttpMethod.Get, uri)))
            Assert.Equal(HttpStatusCode.ServiceUnavailable, r.StatusCode);
        await answer;
        listener.Stop();
        Assert.Throws<HttpRequestException>(() => client.Send(new HttpRequestMessage(HttpMethod.Get, uri)));
    }

    [Theory]
    [InlineData("INT")]
    [InlineData("TERM")]
    public async Task ServeCommandTest_SignalStopsInFlightWorkWithin10SecondsAndExits130(string signal)
    {
        using var package = TinyPackage.Create(length: 16, timeIndependent: true);
        using var server = ServerProcess.Start(package.Folder);
        // Hours of work (thousands of windows of 100,000 steps), unless the signal ends it.
        var inFlight = server.PostAsync("/v1/completions", ServerFixture.Endless);
        await server.WaitForMetric("sedd_batch_running_sequences", 1);
        var clock = Stopwatch.StartNew();
        server.Signal(signal);
        var (status, body, _) = await inFlight;
        var answered = clock.Elapsed;
        var r = server.WaitForExit(TimeSpan.FromSeconds(30));
        Assert.True(answered < TimeSpan.FromSeconds(10), $"the running request was answered {answered.TotalSeconds:F1} s after SIG{signal}");
        Assert.True(clock.Elapsed < TimeSpan.FromSeconds(15), $"the server ended {clock.Elapsed.TotalSeconds:F1} s after SIG{signal}");
        Assert.Equal(503, status);
        Assert.Equal("shutting_down", (string)body!["error"]!["code"]!);
        Assert.Equal(SeddException.Cancelled, r.Code);
        Assert.Equal("", r.Out);
        var lines = r.Err.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.All(lines, l => Assert.StartsWith("sedd: ", l, StringComparison.Ordinal));
        Assert.Contains(lines, l => l.Contains("stopping", StringComparison.Ordinal));
        Assert.Equal("sedd: cancelled", lines[^1]);
        server.AssertNoStackTraces();
    }

    [Theory]
    [InlineData("--port", "70000", "--port")]
    [InlineData("--max-batch", "0", "--max-batch")]
    [InlineData("--max-queue", "0", "--max-queue")]
    [InlineData("--batch-wait-ms", "-1", "--batch-wait-ms")]
    [InlineData("--host", "not-an-address", "--host")]
    [InlineData("--api-key", " ", "--api-key")]
    [InlineData("--threads", "-2", "--threads")]
    [InlineData("--provider", "tpu", "tpu")]
    [InlineData("--mask-glyph", "\u001b[7m", "--mask-glyph")]
    public void ServeCommandTest_BadOptionIsOneLineExit1(string option, string value, string named)
    {
        using var package = TinyPackage.Create(length: 16, timeIndependent: true);
        var r = Serve("--model", package.Folder, "--port", "0", option, value);
        ToolProcess.AssertOneLineFailure(r, "sedd", SeddException.Usage, quietStdout: true, named);
    }

    [Fact]
    public void ServeCommandTest_PortInUseIsOneLineExit3()
    {
        using var package = TinyPackage.Create(length: 16, timeIndependent: true);
        using var taken = new TcpListener(IPAddress.Loopback, 0);
        taken.Start();
        var port = ((IPEndPoint)taken.LocalEndpoint).Port.ToString(System.Globalization.CultureInfo.InvariantCulture);
        var r = Serve("--model", package.Folder, "--port", port);
        ToolProcess.AssertOneLineFailure(r, "sedd", SeddException.Environment, quietStdout: true, "cannot listen", port, "--port");
    }

    [Fact]
    public void ServeCommandTest_BadPackageIsOneLineExit2AndAProviderThatCannotStartExit3()
    {
        var missing = Path.Combine(Path.GetTempPath(), "sedd-no-such-model-" + Guid.NewGuid().ToString("N"));
        ToolProcess.AssertOneLineFailure(Serve("--model", missing, "--port", "0"), "sedd", SeddException.BadInput, quietStdout: true);
        using var package = TinyPackage.Create(length: 16, timeIndependent: true);
        var r = ToolProcess.Run(ServerProcess.Dll, Path.GetTempPath(), null, ["serve", "--model", package.Folder, "--port", "0", "--provider", "dml"]);
        ToolProcess.AssertOneLineFailure(r, "sedd", SeddException.Environment, quietStdout: true, "DirectML");
    }
}
