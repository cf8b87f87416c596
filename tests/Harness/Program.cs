using Qcow2.Harness;

return IotestsCommand.Execute(args, Console.Out);
