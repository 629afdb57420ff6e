using System.Diagnostics;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;

namespace Sedd.Server.Tests.Serve;

/// <summary>Batching: concurrent requests share batches without changing any text; a client that leaves cancels its rows.</summary>
[Collection("server")]
public sealed class BatchSchedulerTest(ServerFixture fixture)
{
    static string Body(int i) => $$"""{"prompt":"{{(char)('A' + i)}}","max_tokens":24,"n":{{1 + i % 2}},"seed":{{100 + i}},"steps":12}""";

    static string[] Texts(JsonNode reply) => [.. reply["choices"]!.AsArray().Select(c => (string)c!["text"]!)];

    static double Metric(string metrics, string name) => ServerProcess.Metric(metrics, name);

    [Fact]
    public async Task BatchSchedulerTest_SameSeedSameTextAloneAndBatched()
    {
        const int requests = 6;
        var alone = new List<string[]>();
        for (int i = 0; i < requests; i++) alone.Add(Texts(await fixture.CompleteOk(Body(i))));
        var before = (await fixture.Server.GetAsync("/metrics")).Text;

        var together = await Task.WhenAll(Enumerable.Range(0, requests).Select(i => fixture.CompleteOk(Body(i))));
        var after = (await fixture.Server.GetAsync("/metrics")).Text;
        for (int i = 0; i < requests; i++) Assert.Equal(alone[i], Texts(together[i]));

        // Six requests of 9 sequences within the batch window: fewer batches than requests.
        double batches = Metric(after, "sedd_batch_requests_count") - Metric(before, "sedd_batch_requests_count");
        double requestsInBatches = Metric(after, "sedd_batch_requests_sum") - Metric(before, "sedd_batch_requests_sum");
        Assert.True(batches < requestsInBatches, $"{requestsInBatches} requests ran in {batches} batches; expected some to share one");
        Assert.True(Metric(after, "sedd_batch_sequences_sum") - Metric(before, "sedd_batch_sequences_sum") == 9);
    }

    // The scheduler's state, for a failure message.
    string Diagnose()
    {
        using var c = new HttpClient { BaseAddress = fixture.Server.Url };
        var m = c.GetStringAsync(new Uri("/metrics", UriKind.Relative)).Result;
        return string.Join("\n", m.Split('\n').Where(l => l.StartsWith("sedd_", StringComparison.Ordinal) && !l.Contains("bucket", StringComparison.Ordinal)));
    }

    [Fact]
    public async Task BatchSchedulerTest_AClientThatLeavesCancelsItsRows()
    {
        // Hours of work; the client leaves after its first canvas.
        using var leave = new CancellationTokenSource();
        var clock = Stopwatch.StartNew();
        var stream = Task.Run(async () =>
        {
            using var request = new HttpRequestMessage(HttpMethod.Post, "/v1/completions")
            {
                Content = new StringContent(ServerFixture.Endless.Replace("}", ",\"stream\":true,\"stream_interval\":1000}", StringComparison.Ordinal), System.Text.Encoding.UTF8, "application/json"),
            };
            request.Headers.Authorization = new("Bearer", ServerFixture.ApiKey);
            using var response = await fixture.Server.Client.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, leave.Token);
            using var reader = new StreamReader(await response.Content.ReadAsStreamAsync(leave.Token));
            await reader.ReadLineAsync(leave.Token);
        });
        await stream;
        await leave.CancelAsync();

        // The next request is answered at once: the cancelled rows stopped the window they were in.
        using var quick = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        var (status, next, _) = await fixture.Complete("""{"prompt":"y","max_tokens":16,"steps":4,"seed":2}""", quick.Token)
            .WaitAsync(TimeSpan.FromSeconds(60)).ContinueWith(t => t.IsCompletedSuccessfully ? t.Result : throw new TimeoutException($"no answer; metrics:\n{Diagnose()}\nlog:\n{fixture.Server.Log}"));
        Assert.Equal(200, status);
        Assert.Single(next!["choices"]!.AsArray());
        Assert.True(clock.Elapsed < TimeSpan.FromSeconds(60), $"took {clock.Elapsed.TotalSeconds:F1} s");
        fixture.Server.WaitForLine(l => Regex.IsMatch(l, "POST /v1/completions 499 .* the client went away"), TimeSpan.FromSeconds(30));
        Assert.True(Metric((await fixture.Server.GetAsync("/metrics")).Text, "sedd_cancelled_requests_total") >= 1);

        // A client that leaves a request that does not stream cancels it too.
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(1));
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => fixture.Complete(ServerFixture.Endless, timeout.Token));
        await fixture.CompleteOk("""{"prompt":"y","max_tokens":16,"steps":4,"seed":2}""");
        Assert.True(clock.Elapsed < TimeSpan.FromSeconds(90), $"took {clock.Elapsed.TotalSeconds:F1} s");
        fixture.Server.AssertNoStackTraces();
    }
}

/// <summary>The bounded queue: a full queue answers 429 with Retry-After; a waiting client that leaves frees its place.</summary>
public sealed class BatchSchedulerQueueTest
{
    [Fact]
    public async Task BatchSchedulerQueueTest_FullQueueIs429WithRetryAfter()
    {
        using var package = Sedd.Runtime.Tests.Onnx.TinyPackage.Create(length: 16, timeIndependent: true);
        using var server = ServerProcess.Start(package.Folder, "--max-batch", "1", "--max-queue", "1", "--batch-wait-ms", "0");
        const string slow = ServerFixture.Endless;
        using var cancelRunning = new CancellationTokenSource();
        using var cancelWaiting = new CancellationTokenSource();
        var running = server.PostAsync("/v1/completions", slow, cancel: cancelRunning.Token);
        await server.WaitForMetric("sedd_batch_running_sequences", 1);
        var waiting = server.PostAsync("/v1/completions", slow, cancel: cancelWaiting.Token);
        await server.WaitForMetric("sedd_queue_depth", 1);

        var (status, body, response) = await server.PostAsync("/v1/completions", """{"prompt":"y","steps":2}""");
        Assert.Equal(429, status);
        Assert.Equal("rate_limit_error", (string)body!["error"]!["type"]!);
        Assert.Equal("rate_limit_exceeded", (string)body["error"]!["code"]!);
        Assert.True(response.Headers.RetryAfter?.Delta is { } delta && delta >= TimeSpan.Zero, "Retry-After is sent");

        // The waiting client leaves: its place is free again.
        await cancelWaiting.CancelAsync();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => waiting);
        await server.WaitForMetric("sedd_queue_depth", 0);
        var queued = server.PostAsync("/v1/completions", """{"prompt":"y","max_tokens":8,"steps":2}""");
        await server.WaitForMetric("sedd_queue_depth", 1);
        await cancelRunning.CancelAsync();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => running);
        Assert.Equal(200, (await queued).Status);
        server.AssertNoStackTraces();
    }
}

/// <summary>A server generates batch after batch: none may leave a thread (and with it its sampler's buffers) behind.</summary>
public sealed class BatchSchedulerThreadsTest
{
    [Fact]
    public async Task BatchSchedulerThreadsTest_BatchesLeaveNoThreadsBehind()
    {
        using var package = Sedd.Runtime.Tests.Onnx.TinyPackage.Create(length: 64, timeIndependent: true);
        using var server = ServerProcess.Start(package.Folder, "--threads", "2");
        // Batches of 8 × 63 masked rows of 258 states: enough work per step for a sampler to draw on two
        // threads, whose team would outlive its batch.
        for (int i = 0; i < 8; i++)
        {
            var (status, body, _) = await server.PostAsync("/v1/completions", $$"""{"prompt":"T","n":8,"seed":{{i}},"steps":6}""");
            Assert.True(status == 200, body?.ToJsonString());
        }
        var names = Directory.GetDirectories($"/proc/{server.Process.Id}/task").Select(t =>
        {
            try { return File.ReadAllText(Path.Combine(t, "comm")).Trim(); }
            catch (IOException) { return ""; }
        }).ToList();
        Assert.DoesNotContain(names, n => n.StartsWith("sedd-rows", StringComparison.Ordinal));
    }
}
