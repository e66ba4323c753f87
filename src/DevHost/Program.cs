using Contoso.Retail.DevHost;

DevHostSettings settings;
try
{
    settings = DevHostSettings.Load(args, Directory.GetCurrentDirectory());
}
catch (ArgumentException ex)
{
    await Console.Error.WriteLineAsync($"error: {ex.Message}");
    return 2;
}

if (settings.ShowHelp)
{
    Console.WriteLine(DevHostCommandLine.Usage);
    return 0;
}

await using var system = new DevHostSystem(settings, Console.Out);
try
{
    await system.StartAsync(CancellationToken.None);
}
catch (ServiceStartException ex)
{
    // Typically a port in use (another DevHost?) or a data folder from an older schema.
    await Console.Error.WriteLineAsync($"error: {ex.Message}");
    await Console.Error.WriteLineAsync(ex.InnerException is IOException
        ? "  is another DevHost running? --free-ports picks free ports"
        : $"  data folder: {settings.DataDir} (delete it, or use another --data-dir, to start fresh)");
    return 1;
}

if (settings.Demo)
{
    if (settings.DevSigningKey is null)
    {
        await Console.Error.WriteLineAsync("error: --demo mints its own tokens and needs Auth:DevSigningKey (see appsettings.Development.json)");
        return 1;
    }

    var token = settings.MintToken("devhost-demo", Demo.Scopes, TimeSpan.FromHours(1));
    return await new Demo(system, Console.Out, token).RunAsync(system.Stopping);
}

await system.WaitForShutdownAsync();
Console.WriteLine("stopping");
await system.DisposeAsync();
Console.WriteLine("stopped");
return 0;
