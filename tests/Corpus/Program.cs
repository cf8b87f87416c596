using Qcow2.Corpus;

return CorpusCommand.Execute(args, Console.Out, Console.Error);
