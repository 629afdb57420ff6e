using Sedd.Cli;
using Sedd.Load;

return CliHost.Run<LoadCommand>("sedd-load", args);
