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
        // The default model (tens of MB to verify and start) keeps the server loading long enough to be seen.
        var model = Directory.GetDirectories(Path.Combine(Sedd.Tests.Goldens.RepoRoot, "models")).Single(d => File.Exists(Path.Combine(d, "manifest.json")));
        int port = FreePort();
        using var server = ServerProcess.Launch(null, "--model", model, "--port", port.ToString(System.Globalization.CultureInfo.InvariantCulture));
        using var client = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{port}"), Timeout = TimeSpan.FromSeconds(10) };
        var seen = new List<int>();
        var clock = Stopwatch.StartNew();
        while (clock.Elapsed < TimeSpan.FromMinutes(2))
        {
            try
            {
                using var r = await client.GetAsync(new Uri("/health", UriKind.Relative));
                seen.Add((int)r.StatusCode);
                if (r.StatusCode == HttpStatusCode.OK) break;
                // While loading, the API answers 503 in OpenAI's shape with Retry-After.
                using var c = await client.PostAsync(new Uri("/v1/completions", UriKind.Relative), new StringContent("{}"));
                if (c.StatusCode == HttpStatusCode.ServiceUnavailable) Assert.NotNull(c.Headers.RetryAfter);
            }
            catch (HttpRequestException) { Assert.False(server.Process.HasExited, server.Log); }
            await Task.Delay(5);
        }
        Assert.Equal(200, seen.LastOrDefault());
        Assert.True(seen.Count >= 2 && seen.SkipLast(1).All(s => s == 503), $"health answered {string.Join(", ", seen)}; expected 503 while loading, then 200");
        server.WaitForLine(l => l.Contains("listening on", StringComparison.Ordinal), TimeSpan.FromSeconds(30));
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
