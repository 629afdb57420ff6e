using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Prometheus;

namespace Sedd.Cli.Serve;

/// <summary>
/// The ASP.NET Core application of <c>sedd serve</c>: Kestrel on the chosen address with bounded
/// requests, the request log and API key check, and the endpoints (minimal APIs).
/// </summary>
static class ServerApp
{
    public static WebApplication Build(ServeSettings settings, ModelHost host, ServerMetrics metrics)
    {
        // The content root is the program's folder, so an appsettings.json in the user's folder changes nothing.
        var builder = WebApplication.CreateSlimBuilder(new WebApplicationOptions
        {
            Args = [],
            ContentRootPath = AppContext.BaseDirectory,
            EnvironmentName = Environments.Production,
        });
        // The request log is the server's only output; ASP.NET Core's own logging would add multi-line
        // entries (with stack traces) to stderr.
        builder.Logging.ClearProviders();
        // Ctrl+C and SIGTERM belong to sedd's own handler, which stops the server in order (see ServeCommand).
        builder.Services.AddSingleton<IHostLifetime, ExternallyStoppedLifetime>();
        builder.WebHost.ConfigureKestrel(k =>
        {
            k.AddServerHeader = false;
            k.Limits.MaxRequestBodySize = JsonBody.DrainBytes;
            k.Limits.MaxConcurrentConnections = 1024;
            k.Limits.MaxRequestHeadersTotalSize = 32 * 1024;
            if (settings.Address == null) k.ListenLocalhost(settings.Port);
            else k.Listen(settings.Address, settings.Port);
        });
        var app = builder.Build();

        var log = new RequestLog(metrics);
        var auth = new ApiKeyCheck(settings.ApiKey);
        app.Use((context, next) => log.InvokeAsync(context, next));
        app.Use((context, next) => auth.InvokeAsync(context, next));

        app.MapGet("/health", context => host.IsReady
            ? ServerJson.WriteAsync(context, 200, w => Status(w, "ok"))
            : ServerJson.WriteAsync(context, 503, w => Status(w, "loading")));
        app.MapGet("/v1/models", context => ServerJson.WriteAsync(context, 200, w =>
        {
            w.WriteStartObject();
            w.WriteString("object", "list");
            w.WriteStartArray("data");
            host.WriteModel(w);
            w.WriteEndArray();
            w.WriteEndObject();
        }));
        app.MapGet("/v1/models/{id}", context =>
        {
            host.RequireModel(context.Request.RouteValues["id"] as string ?? "");
            return ServerJson.WriteAsync(context, 200, host.WriteModel);
        });
        app.MapPost("/v1/completions", context => CompletionEndpoints.HandleAsync(context, host, CompletionKind.Completion));
        app.MapPost("/v1/infill", context => CompletionEndpoints.HandleAsync(context, host, CompletionKind.Infill));
        app.MapMetrics("/metrics", metrics.Registry);
        app.MapFallback(context => throw (ServerMetrics.PathLabel(context.Request.Path.Value) != "other"
            ? new ApiException(405, $"{ApiErrors.OneLine(context.Request.Method)} is not allowed here; {Routes}", code: "method_not_allowed")
            : new ApiException(404, $"no such endpoint; {Routes}", code: "unknown_url")));
        return app;
    }

    const string Routes = "this server answers POST /v1/completions, POST /v1/infill, GET /v1/models, GET /health and GET /metrics";

    static void Status(System.Text.Json.Utf8JsonWriter w, string status)
    {
        w.WriteStartObject();
        w.WriteString("status", status);
        w.WriteEndObject();
    }

    /// <summary>A host lifetime that listens to no signal: the server is stopped by <c>StopAsync</c> only.</summary>
    sealed class ExternallyStoppedLifetime : IHostLifetime
    {
        public Task WaitForStartAsync(CancellationToken cancellationToken) => Task.CompletedTask;

        public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;
    }
}
