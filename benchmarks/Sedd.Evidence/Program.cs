using Sedd.Cli;
using Sedd.Evidence;
using Sedd.Trainer.Training;

// sedd-evidence: one command that measures every evidence table and plot (see EvidenceCommand).
// Exit codes: 0 ok, 1 usage, 2 bad input (missing run, package or data), 3 environment, 130 cancelled.
// First: may start the process again with glibc's heap settings (returns here when it does not).
NativeHeap.UseMainHeap();
ConsoleInterrupt.Register();
// Before anything loads libtorch (and with it libgomp, which reads the variable once).
OpenMpWaitPolicy.PreferPassive();
return CliHost.Run<EvidenceCommand>("sedd-evidence", args, ConsoleInterrupt.Token,
    ["--output", "-o", "--model", "-m", "--sedd-equal", "--ar", "--scorer", "--data", "--nlp-corpus"]);
