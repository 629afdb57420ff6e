using Microsoft.AspNetCore.Http;
using Sedd.Runtime.Generation;

namespace Sedd.Cli.Serve;

/// <summary>
/// <c>POST /v1/completions</c> and <c>POST /v1/infill</c>: read and check the request, plan it with the
/// generator (every problem a 400 naming the field), queue it, and answer with the whole reply or a
/// stream. A client that disconnects cancels its request: waiting, it leaves the queue; running, its rows
/// freeze and its batch goes on for the others.
/// </summary>
static class CompletionEndpoints
{
    public static async Task HandleAsync(HttpContext context, ModelHost host, CompletionKind kind)
    {
        var (generator, scheduler) = host.Require();
        CompletionRequest request;
        using (var body = await JsonBody.ReadAsync(context.Request, context.RequestAborted).ConfigureAwait(false))
            request = CompletionRequestReader.Read(body.RootElement, kind);
        host.RequireModel(request.Model);

        // One seed for every prompt of the request, so each prompt's samples are those `sedd sample` gives.
        ulong seed = request.Seed ?? SeddGenerator.RandomSeed();
        var stream = request.Stream ? new StepStream(request.StreamInterval, host.MaskGlyph) : null;
        var job = GenerationJob.Create(generator, request, seed, scheduler.MaxBatch, stream);
        scheduler.Submit(job);
        try
        {
            using var registration = context.RequestAborted.Register(job.Cancel);
            var reply = new CompletionReply(job, host.Id);
            if (stream != null)
            {
                await SseResponse.WriteAsync(context, job, reply, generator.Tokenizer).ConfigureAwait(false);
                return;
            }
            await job.Completion.ConfigureAwait(false);
            var finals = reply.Finals(generator.Tokenizer);
            await ServerJson.WriteAsync(context, 200, w => reply.WriteCompletion(w, finals)).ConfigureAwait(false);
        }
        finally
        {
            // A handler that ends before its job (a write to a connection the client reset fails before
            // Kestrel signals RequestAborted) must not leave the job running for nobody.
            if (!job.Completion.IsCompleted) job.Cancel();
        }
    }
}
