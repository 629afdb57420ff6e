using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.Extensions.DependencyInjection;
using Sedd.Runtime;
using Sedd.Runtime.Generation;
using Sedd.Runtime.Onnx;
using Sedd.Runtime.Sampling;

namespace Sedd.Cli.Serve;

/// <summary>
/// <c>sedd serve</c>: binds the address first (so that <c>/health</c> answers 503 while the model
/// loads), loads the package once, prints one "listening" line, serves until Ctrl+C or SIGTERM, then
/// stops in order: no new connections or requests, waiting requests answered 503, the running batch
/// given until 7 s to finish (then cut between two steps), connections closed by 10 s, exit 130.
/// A package that cannot be read (2), a provider that cannot start or a port in use (3) is one line.
/// </summary>
static class ServeCommand
{
    static readonly TimeSpan BatchGrace = TimeSpan.FromSeconds(7);
    static readonly TimeSpan StopLimit = TimeSpan.FromSeconds(10);

    public static int Run(ServeOptions options, CancellationToken interrupted)
    {
        var settings = ServeSettings.From(options);
        // A long-running process whose batches run on new threads: large native blocks go back to the system
        // and freed memory is not spread over an arena per thread (resident memory stays flat under load).
        NativeHeap.ReturnLargeBlocks();
        NativeHeap.LimitArenas(2);
        var folder = ModelLocator.Resolve(options.Model);
        var metrics = new ServerMetrics(settings.MaxBatch);
        var host = new ModelHost(folder, settings.MaskGlyph);
        var app = ServerApp.Build(settings, host, metrics);
        bool stopped = false;
        try
        {
            Listen(app, settings);
            using var generator = Load(folder, settings);
            using var scheduler = new BatchScheduler(generator, metrics, settings.MaxBatch, settings.MaxQueue, settings.BatchWait);
            host.SetLoaded(generator, scheduler);
            var url = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()?.Addresses.FirstOrDefault()
                ?? $"http://{settings.HostText}:{settings.Port}";
            RequestLog.Write($"listening on {url} — model {host.Id} on the {ExecutionProviders.Name(generator.Provider.Provider).ToUpperInvariant()}, " +
                $"window {generator.Window} tokens, max batch {settings.MaxBatch}, queue {settings.MaxQueue}, " +
                (settings.ApiKey != null ? "API key required" : "no API key") + "; Ctrl+C stops");

            interrupted.WaitHandle.WaitOne();
            RequestLog.Write($"stopping: no new requests; the running batch has {BatchGrace.TotalSeconds:F0} s to finish");
            using var limit = new CancellationTokenSource(StopLimit);
            // Kestrel stops listening at once and waits for the open requests until the limit.
            var stopping = app.StopAsync(limit.Token);
            stopped = true;
            scheduler.StopAccepting();
            if (!scheduler.WaitIdle(BatchGrace))
            {
                scheduler.Abort();
                scheduler.WaitIdle(TimeSpan.FromSeconds(1));
            }
            try { stopping.GetAwaiter().GetResult(); }
            catch (OperationCanceledException) { }
        }
        finally
        {
            if (!stopped) StopQuietly(app);
            app.DisposeAsync().AsTask().GetAwaiter().GetResult();
        }
        throw new OperationCanceledException();
    }

    // After a failure (the model did not load): close the listening socket, whatever state the host is in.
    static void StopQuietly(WebApplication app)
    {
        using var limit = new CancellationTokenSource(TimeSpan.FromSeconds(2));
        try { app.StopAsync(limit.Token).GetAwaiter().GetResult(); }
        catch (Exception e) when (e is OperationCanceledException or InvalidOperationException or IOException) { }
    }

    static void Listen(WebApplication app, ServeSettings settings)
    {
        try
        {
            app.StartAsync().GetAwaiter().GetResult();
        }
        catch (IOException e)
        {
            // Kestrel reports a port in use (or an address this machine does not have) as an IOException.
            throw new SeddException($"cannot listen on {settings.HostText}:{settings.Port} ({ApiErrors.OneLine(e.Message)}); choose another --port or --host", SeddException.Environment);
        }
        catch (System.Net.Sockets.SocketException e)
        {
            throw new SeddException($"cannot listen on {settings.HostText}:{settings.Port} ({ApiErrors.OneLine(e.Message)}); choose another --port or --host", SeddException.Environment);
        }
    }

    static SeddGenerator Load(string folder, ServeSettings settings)
    {
        // One sampler thread: every batch builds a sampler, and a sampler with a team of row threads is not
        // reliably released (see GeneratorOptions.SamplerThreads); ONNX Runtime keeps --threads.
        var generator = SeddGenerator.Open(folder, new GeneratorOptions { Provider = settings.Provider, Threads = settings.Threads, SamplerThreads = 1 });
        try
        {
            if (generator.Provider.Requested == ExecutionProvider.Auto && generator.Provider.Rejected.Count > 0 && ExecutionProviders.GpuCompiledIn)
                RequestLog.Write($"running on the {ExecutionProviders.Name(generator.Provider.Provider).ToUpperInvariant()} (no GPU provider could start; --provider cuda says why)");
            // A full batch must fit: refuse a --max-batch this machine cannot hold now rather than at the first busy minute.
            var m = generator.Package.Manifest;
            MemoryBudget.Require(DiffusionSampler.EstimateBytes(settings.MaxBatch, m.Length, m.CreateGraph().Dimension),
                $"--max-batch {settings.MaxBatch}: a batch of {settings.MaxBatch} × {m.Length} tokens", "lower --max-batch");
            return generator;
        }
        catch
        {
            generator.Dispose();
            throw;
        }
    }
}
