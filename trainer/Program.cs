return Sedd.Trainer.Cli.TrainerApp.Run(args);
