return Sedd.Exporter.Cli.ExporterApp.Run(args);
