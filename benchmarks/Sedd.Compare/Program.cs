using Sedd.Cli;
using Sedd.Compare;
using Sedd.Trainer.Training;

// Before anything loads libtorch (and with it libgomp, which reads the variable once).
OpenMpWaitPolicy.PreferPassive();
return CliHost.Run<CompareCommand>("sedd-compare", args);
