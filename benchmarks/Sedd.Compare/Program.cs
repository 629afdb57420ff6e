using Cocona;
using Microsoft.Extensions.Logging;
using Sedd.Compare;

// Before anything loads libtorch (and with it libgomp, which reads the variable once).
OpenMpWaitPolicy.PreferPassive();
var builder = CoconaApp.CreateBuilder(args, o => o.EnableShellCompletionSupport = false);
builder.Logging.ClearProviders();
var app = builder.Build();
app.AddCommands<CompareCommand>();
app.Run();
// Cocona exits 129 after --help; asking for help is not a failure.
return Environment.ExitCode == 129 && args.Any(a => a is "--help" or "-h") ? 0 : Environment.ExitCode;
