using Cocona;
using Cocona.Application;
using Cocona.Command.Binder;
using Cocona.Filters;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Sedd.Runtime;

namespace Sedd.Cli;

/// <summary>
/// The Cocona host of every Sedd command-line tool (<c>sedd</c>, <c>sedd-train</c>, <c>sedd-export</c>;
/// the trainer and exporter compile this file in as a link). Every failure becomes one stderr line
/// "tool: ..." with its exit code, never a stack trace: 1 usage (also Cocona's own option errors),
/// 2 bad input, 3 environment, 130 cancelled, 70 internal error (SEDD_DEBUG=1 keeps the stack trace).
/// </summary>
static class CliHost
{
    /// <summary>Runs the commands of <typeparamref name="TCommands"/> and returns the process exit code.</summary>
    /// <param name="tool">Tool name, the prefix of every message.</param>
    /// <param name="args">Command-line arguments.</param>
    /// <param name="interrupted">Set by the tool's signal handler: a run that ends after it reports "cancelled".</param>
    /// <param name="pathOptions">Options that take a path, each long name followed by its short alias if it has one: an empty value for one is a usage error.</param>
    public static int Run<TCommands>(string tool, string[] args, CancellationToken interrupted = default, IReadOnlyCollection<string>? pathOptions = null) where TCommands : class
    {
        try
        {
            RejectEmptyPaths(args, pathOptions);
            var builder = CoconaApp.CreateBuilder(args, o => o.EnableShellCompletionSupport = false);
            builder.Logging.ClearProviders();
            // On Ctrl+C or SIGTERM the host cancels the command's token and then waits for the command only
            // as long as HostOptions.ShutdownTimeout (5 s by default) before it returns from Run, and the
            // process exits under a command still inside native code: a training step of libtorch died with
            // a segmentation fault, or ended with exit 0 and no checkpoint. Commands stop at their next
            // check of the token (the trainer after its step, with a checkpoint), so wait for them.
            builder.Services.Configure<HostOptions>(o => o.ShutdownTimeout = Timeout.InfiniteTimeSpan);
            builder.Services.AddSingleton<TCommands>();
            // Cocona reports an unknown command or option on its own console, over several lines and
            // without the tool's name; collect what it writes and report it as one line below.
            var parserErrors = new StringWriter();
            builder.Services.AddSingleton<ICoconaConsoleProvider>(new ParserConsole(parserErrors));
            // Help names the tool, also when it runs as `dotnet tool.dll` (Cocona would say "dotnet").
            builder.Services.AddSingleton<ICoconaApplicationMetadataProvider>(new ToolMetadata(tool, new CoconaApplicationMetadataProvider()));
            var app = builder.Build();
            // Cocona would print a command's exception with its stack trace; the filter reports it first,
            // as one line with its exit code. It must precede AddCommands to apply.
            app.UseFilter((context, next) => ReportFailures(tool, context, next));
            app.AddCommands<TCommands>();
            app.Run();
            int code = Environment.ExitCode;
            if (interrupted.IsCancellationRequested && code == 0) return Report(tool, new OperationCanceledException());
            // Cocona exits 129 after --help (not a failure) and after an unknown option or command, which it
            // has reported in one line of its own ("Error: Unknown option 'x'"): a usage error here.
            if (code == 129 && args.Any(a => a is "--help" or "-h") && parserErrors.GetStringBuilder().Length == 0) return 0;
            if (parserErrors.GetStringBuilder().Length > 0) Console.Error.WriteLine($"{tool}: {OneLine(ParserFailure(parserErrors.ToString()))}");
            if (code == 129) return SeddException.Usage;
            return code;
        }
        catch (Exception e) when (IsReported(e))
        {
            return Report(tool, e);
        }
    }

    // Cocona binds an empty string to an option as if it were absent, so `--model ""` would silently mean
    // "the default"; an empty path is a mistake worth naming.
    static void RejectEmptyPaths(string[] args, IReadOnlyCollection<string>? pathOptions)
    {
        if (pathOptions == null) return;
        for (int i = 0; i < args.Length; i++)
        {
            var a = args[i];
            if (a == "--") break;
            int eq = a.IndexOf('=', StringComparison.Ordinal);
            var name = eq > 0 ? a[..eq] : a;
            if (!pathOptions.Contains(name)) continue;
            var value = eq > 0 ? a[(eq + 1)..] : i + 1 < args.Length ? args[i + 1] : null;
            if (value != null && value.Trim().Length == 0)
                throw new SeddException(LongName(name, pathOptions) is var full && full != name
                    ? $"{full} needs a path, got an empty string for {name}"
                    : $"{name} needs a path, got an empty string", SeddException.Usage);
        }
    }

    // The list gives each long option followed by its short alias ("--output", "-o"); a message names the long one.
    static string LongName(string name, IReadOnlyCollection<string> pathOptions)
    {
        if (name.StartsWith("--", StringComparison.Ordinal)) return name;
        string? previous = null;
        foreach (var option in pathOptions)
        {
            if (option == name) return previous != null && previous.StartsWith("--", StringComparison.Ordinal) ? previous : name;
            previous = option;
        }
        return name;
    }

    static async ValueTask<int> ReportFailures(string tool, CoconaCommandExecutingContext context, CommandExecutionDelegate next)
    {
        try { return await next(context).ConfigureAwait(false); }
        catch (ParameterBinderException e)
        {
            Console.Error.WriteLine($"{tool}: {OneLine(BindingFailure(e))}");
            return SeddException.Usage;
        }
        catch (Exception e) when (e is not CommandExitedException && IsReported(e)) { return Report(tool, e); }
    }

    /// <summary>
    /// A binding failure in the user's terms: the option or argument by its name on the command line, and
    /// what it expects ("--out is required: the package folder to write", "--seed requires a whole number
    /// ≥ 0, got 'x'"), never Cocona's internals ("InsufficientOption", "requires Nullable`1 value").
    /// </summary>
    internal static string BindingFailure(ParameterBinderException e)
    {
        string? name = e.Option is { } o ? (o.Name.Length == 1 ? "-" : "--") + o.Name : e.Argument is { } a ? $"<{a.Name}>" : null;
        var description = e.Option?.Description ?? e.Argument?.Description;
        var type = e.Option?.OptionType ?? e.Argument?.ArgumentType;
        var what = string.IsNullOrWhiteSpace(description) ? "" : ": " + LowerFirst(description.TrimEnd('.'));
        // Cocona's conversion message quotes the value: "... requires Int32 value. 'abc' cannot be converted to Int32 value."
        var given = System.Text.RegularExpressions.Regex.Match(e.Message, @"value\. '(.*)' cannot be converted to ");
        var got = given.Success ? $", got '{given.Groups[1].Value}'" : "";
        return (e.Result, name) switch
        {
            (_, null) => OneLine(e.Message),
            (ParameterBinderResult.InsufficientOption, _) => $"{name} is required{what}",
            (ParameterBinderResult.InsufficientArgument, _) => $"argument {name} is required{what}; see --help",
            (ParameterBinderResult.InsufficientOptionValue, _) => $"{name} needs a value{what}",
            (ParameterBinderResult.TypeNotSupported, _) when type != null => $"{name} requires {Expected(type)}{got}",
            (ParameterBinderResult.ValidationFailed, _) => $"{name}: {OneLine(e.Message)}",
            _ => $"{name} is invalid ({e.Result}){what}; see --help",
        };
    }

    /// <summary>
    /// Cocona's own report of an unknown command or option ("Error: 'x' is not a command. See '--help'
    /// for usage.", a blank line, "Similar commands:" and the suggestions) as one clause.
    /// </summary>
    internal static string ParserFailure(string written)
    {
        var lines = written.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        if (lines.Length == 0) return "the command line cannot be read; see --help";
        var first = System.Text.RegularExpressions.Regex.Replace(lines[0], @"^Error:\s*", "");
        first = System.Text.RegularExpressions.Regex.Replace(first, @"\s*See '--help' for usage\.?$", "").TrimEnd('.');
        int similar = Array.FindIndex(lines, l => l.StartsWith("Similar commands", StringComparison.Ordinal));
        var suggestions = similar >= 0 ? lines[(similar + 1)..] : [];
        return LowerFirst(first) + (suggestions.Length > 0 ? $" (did you mean {string.Join(" or ", suggestions)}?)" : "") + "; see --help";
    }

    /// <summary>The tool's own name in help's usage line; the rest as Cocona reads it from the assembly.</summary>
    sealed class ToolMetadata(string tool, ICoconaApplicationMetadataProvider inner) : ICoconaApplicationMetadataProvider
    {
        public string GetExecutableName() => tool;
        public string GetProductName() => tool;
        public string GetDescription() => inner.GetDescription();
        public string GetVersion() => inner.GetVersion();
    }

    /// <summary>Cocona's console: its output as usual, its error reports into a buffer the host turns into one line.</summary>
    sealed class ParserConsole(TextWriter errors) : ICoconaConsoleProvider
    {
        public TextWriter Output => Console.Out;

        public TextWriter Error => errors;
    }

    /// <summary>What a value of <paramref name="type"/> looks like, for messages.</summary>
    internal static string Expected(Type type)
    {
        var t = Nullable.GetUnderlyingType(type) ?? type;
        if (t.IsEnum) return "one of " + string.Join(", ", Enum.GetNames(t).Select(n => n.ToLowerInvariant()));
        return Type.GetTypeCode(t) switch
        {
            TypeCode.Byte or TypeCode.UInt16 or TypeCode.UInt32 or TypeCode.UInt64 => "a whole number ≥ 0",
            TypeCode.SByte or TypeCode.Int16 or TypeCode.Int32 or TypeCode.Int64 => "a whole number",
            TypeCode.Single or TypeCode.Double or TypeCode.Decimal => "a number",
            TypeCode.Boolean => "true or false",
            TypeCode.String => "a text value",
            _ => "a value of another form; see --help",
        };
    }

    static string LowerFirst(string s) =>
        s.Length > 1 && char.IsUpper(s[0]) && !char.IsUpper(s[1]) ? char.ToLowerInvariant(s[0]) + s[1..] : s;

    // With SEDD_DEBUG set, unexpected exceptions keep their stack trace.
    static bool IsReported(Exception e) =>
        e is SeddException or OperationCanceledException || Environment.GetEnvironmentVariable("SEDD_DEBUG") is null;

    /// <summary>Writes the one stderr line for <paramref name="e"/> and returns the exit code.</summary>
    static int Report(string tool, Exception e)
    {
        var (message, code) = Describe(e);
        Console.Error.WriteLine($"{tool}: {message}");
        return code;
    }

    /// <summary>
    /// The one-line message and exit code for a failure: a <see cref="SeddException"/> says its own; a
    /// native library that cannot load (libtorch, ONNX Runtime: a missing dependency) is an environment
    /// error (3); anything else is an internal error (70).
    /// </summary>
    internal static (string Message, int Code) Describe(Exception e)
    {
        switch (e)
        {
            case SeddException s:
                return (OneLine(s.Message), s.ExitCode);
            case OperationCanceledException:
                return ("cancelled", SeddException.Cancelled);
            case OutOfMemoryException:
                // An allocation that no estimate caught: the machine, not the code, is short.
                return ($"out of memory (about {MemoryBudget.Format(MemoryBudget.Available())} available); use smaller inputs or settings", SeddException.Environment);
            case IOException io when IsDiskFull(io):
                return ($"the disk is full ({OneLine(io.Message)}); free some space and run again", SeddException.Environment);
            default:
                var inner = e is AggregateException or TypeInitializationException && e.InnerException != null ? e.InnerException : e;
                if (inner is SeddException or OperationCanceledException or OutOfMemoryException || inner is IOException && IsDiskFull((IOException)inner)) return Describe(inner);
                if (IsNativeLoadFailure(e, inner))
                    return ($"a native library cannot load ({inner.GetType().Name}: {OneLine(inner.Message)}); see README.md, Troubleshooting", SeddException.Environment);
                return ($"internal error: {inner.GetType().Name}: {OneLine(inner.Message)} (set SEDD_DEBUG=1 for details)", 70);
        }
    }

    // TorchSharp reports a libLibTorchSharp/libtorch that will not load as a NotSupportedException from
    // the type initializer of TorchSharp.torch; P/Invoke reports a missing or foreign library directly.
    static bool IsNativeLoadFailure(Exception outer, Exception inner) =>
        inner is DllNotFoundException or BadImageFormatException or EntryPointNotFoundException
        || outer is TypeInitializationException { TypeName: { } type } && (type.StartsWith("TorchSharp", StringComparison.Ordinal) || type.StartsWith("Microsoft.ML.OnnxRuntime", StringComparison.Ordinal));

    // ENOSPC (28) and EDQUOT (122) on Linux; ERROR_DISK_FULL (112) and ERROR_HANDLE_DISK_FULL (39) on Windows.
    internal static bool IsDiskFull(IOException e) =>
        (e.HResult & 0xFFFF) is 28 or 122 or 112 or 39 || e.Message.Contains("No space left on device", StringComparison.Ordinal);

    // One line, with control characters from paths or file contents made visible.
    static string OneLine(string message) => TerminalText.Neutralise(message.Split('\n', 2)[0].TrimEnd('\r'), keepNewlines: false);
}
