namespace Sedd.Runtime;

/// <summary>
/// A failure the user can fix (bad file, bad option, missing dependency). The CLIs print its
/// message as one line and exit with <see cref="ExitCode"/>; nothing else prints a stack trace.
/// </summary>
/// <param name="message">What was expected and what was found.</param>
/// <param name="exitCode">1 usage, 2 bad input file or data, 3 environment (missing dependency, unwritable folder).</param>
public sealed class SeddException(string message, int exitCode = 2) : Exception(message)
{
    /// <summary>Usage error: a bad option or argument.</summary>
    public const int Usage = 1;

    /// <summary>Bad input: a missing, corrupt or inconsistent file or corpus.</summary>
    public const int BadInput = 2;

    /// <summary>Environment: a missing dependency, an unwritable folder, a device that cannot start.</summary>
    public const int Environment = 3;

    /// <summary>Cancelled by the user (Ctrl+C).</summary>
    public const int Cancelled = 130;

    /// <summary>Process exit code for this failure.</summary>
    public int ExitCode { get; } = exitCode;

    /// <summary>The request field or option at fault, when one is (the server reports it as OpenAI's <c>param</c>).</summary>
    public string? Param { get; init; }
}
