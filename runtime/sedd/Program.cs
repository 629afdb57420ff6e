return Sedd.Cli.SeddApp.Run(args);
