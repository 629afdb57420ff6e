using Sedd.Evidence;
using Sedd.Runtime;

// sedd-evidence: one command that regenerates every evidence table and plot (issue 5, "Evidence").
// Exit codes: 0 ok, 1 usage, 2 bad input (missing run, package or data), 3 environment, 130 cancelled.
try
{
    var options = EvidenceOptions.Parse(args);
    if (options is null)
    {
        Console.WriteLine(EvidenceOptions.Help);
        return 0;
    }
    using var cancel = new CancellationTokenSource();
    Console.CancelKeyPress += (_, e) =>
    {
        e.Cancel = true;
        cancel.Cancel();
    };
    EvidenceRunner.Run(options, cancel.Token);
    return 0;
}
catch (SeddException e)
{
    Console.Error.WriteLine($"sedd-evidence: {e.Message}");
    return e.ExitCode;
}
catch (OperationCanceledException)
{
    Console.Error.WriteLine("sedd-evidence: cancelled");
    return SeddException.Cancelled;
}
catch (Exception e) when (Environment.GetEnvironmentVariable("SEDD_DEBUG") is null)
{
    // One line for the user; SEDD_DEBUG=1 keeps the stack trace.
    Console.Error.WriteLine($"sedd-evidence: unexpected {e.GetType().Name}: {e.Message.ReplaceLineEndings(" ")}");
    return 1;
}
