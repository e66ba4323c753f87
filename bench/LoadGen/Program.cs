using Contoso.Retail.LoadGen;

using var cancel = new CancellationTokenSource();
Console.CancelKeyPress += (_, e) =>
{
    e.Cancel = true;
    cancel.Cancel();
};

try
{
    var parsed = Arguments.Parse(args);
    return parsed.Command switch
    {
        "run" => await Commands.RunAsync(parsed, cancel.Token),
        "prepare" => await Commands.PrepareAsync(parsed, cancel.Token),
        "ledger" => await Commands.LedgerAsync(parsed, cancel.Token),
        "wait-serving" => await Commands.WaitServingAsync(parsed, cancel.Token),
        "grpc-body" => await Commands.GrpcBodyAsync(parsed),
        "token" => Commands.Token(parsed),
        "help" or "--help" => Commands.Help(),
        _ => throw new ArgumentException($"Unknown command '{parsed.Command}'."),
    };
}
catch (ArgumentException ex)
{
    await Console.Error.WriteLineAsync($"loadgen: {ex.Message}");
    Commands.Help();
    return 2;
}
