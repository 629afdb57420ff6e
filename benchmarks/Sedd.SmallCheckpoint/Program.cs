using Sedd.Cli;
using Sedd.SmallCheckpoint;

return CliHost.Run<SmallCheckpointCommand>("sedd-small-checkpoint", args, default, ["--out", "-o"]);
