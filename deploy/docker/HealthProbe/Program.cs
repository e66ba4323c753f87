using Contoso.Retail.HealthProbe;

return await Probe.RunAsync(args, Console.Error);
