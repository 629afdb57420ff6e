using Sedd.Cli;
using Sedd.Compare;
using Sedd.Trainer.Training;

// sedd-compare: the exported ONNX graph against the trainer's TorchSharp forward (see README.md here).
// Exit codes: 0 ok, 1 usage, 2 bad input (package, data), 3 environment, 130 cancelled (Ctrl+C).
// First: may start the process again with glibc's heap settings (returns here when it does not).
NativeHeap.UseMainHeap();
ConsoleInterrupt.Register();
// Before anything loads libtorch (and with it libgomp, which reads the variable once).
OpenMpWaitPolicy.PreferPassive();
return CliHost.Run<CompareCommand>("sedd-compare", args, ConsoleInterrupt.Token,
    ["--model", "-m", "--int8", "--output", "-o", "--bound-data"]);
