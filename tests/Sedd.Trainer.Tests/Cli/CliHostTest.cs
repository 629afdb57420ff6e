using Sedd.Cli;
using Sedd.Runtime;

namespace Sedd.Trainer.Tests.Cli;

/// <summary>The shared CLI host's one line and exit code per kind of failure (runtime/sedd/CliHost.cs, linked into the trainer).</summary>
public class CliHostTest
{
    [Fact]
    public void CliHostTest_NativeLibraryThatCannotLoadIsAnEnvironmentError()
    {
        // What TorchSharp throws when libLibTorchSharp.so will not load (e.g. GLIBCXX_3.4.32 missing).
        var torch = new TypeInitializationException("TorchSharp.torch", new NotSupportedException("This application uses TorchSharp but libtorch did not load.\nTrace from LoadNativeBackend: ..."));
        var (message, code) = CliHost.Describe(torch);
        Assert.Equal(SeddException.Environment, code);
        Assert.StartsWith("a native library cannot load (NotSupportedException: This application uses TorchSharp but libtorch did not load.)", message, StringComparison.Ordinal);
        Assert.DoesNotContain('\n', message);
        Assert.Contains("Troubleshooting", message, StringComparison.Ordinal);

        var (_, dllCode) = CliHost.Describe(new DllNotFoundException("libonnxruntime.so: cannot open shared object file"));
        Assert.Equal(SeddException.Environment, dllCode);
    }

    [Fact]
    public void CliHostTest_OtherFailuresKeepTheirCodes()
    {
        Assert.Equal(("bad file", SeddException.BadInput), CliHost.Describe(new SeddException("bad file\nsecond line", SeddException.BadInput)));
        Assert.Equal(("cancelled", SeddException.Cancelled), CliHost.Describe(new OperationCanceledException()));
        Assert.Equal(("inner", SeddException.Usage), CliHost.Describe(new AggregateException(new SeddException("inner", SeddException.Usage))));
        // A type initializer of our own that fails is a bug, not a missing dependency.
        var (message, code) = CliHost.Describe(new TypeInitializationException("Sedd.Trainer.Something", new InvalidOperationException("boom")));
        Assert.Equal(70, code);
        Assert.StartsWith("internal error: InvalidOperationException: boom", message, StringComparison.Ordinal);
    }
}
