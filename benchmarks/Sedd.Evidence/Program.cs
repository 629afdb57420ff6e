using Sedd.Cli;
using Sedd.Evidence;
using Sedd.Trainer.Training;

// sedd-evidence: one command that regenerates every evidence table and plot (issue 5, "Evidence").
// Exit codes: 0 ok, 1 usage, 2 bad input (missing run, package or data), 3 environment, 130 cancelled.
// Before anything loads libtorch (and with it libgomp, which reads the variable once).
OpenMpWaitPolicy.PreferPassive();
return CliHost.Run<EvidenceCommand>("sedd-evidence", args);
