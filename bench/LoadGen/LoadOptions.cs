namespace Contoso.Retail.LoadGen;

/// <summary>How load is applied; scenario-specific options stay in <see cref="Arguments"/>.</summary>
public sealed record LoadOptions(
    string Label,
    string Scenario,
    string Target,
    int Connections,
    int Concurrency,
    TimeSpan Warmup,
    TimeSpan Duration,
    long? Requests,
    double? Rate,
    bool Progress,
    int? ServerPid)
{
    /// <summary>Kestrel's default (and ServiceDefaults') HTTP/2 stream limit per connection.</summary>
    public const int StreamsPerConnection = 100;

    public static LoadOptions From(Arguments args)
    {
        ArgumentNullException.ThrowIfNull(args);
        var scenario = args.Required("scenario");
        var options = new LoadOptions(
            Label: args.Get("label", scenario),
            Scenario: scenario,
            Target: args.Get("target", "http://127.0.0.1:5101"),
            Connections: args.Count("connections", 1),
            Concurrency: args.Count("concurrency", 32),
            Warmup: args.Duration("warmup", TimeSpan.FromSeconds(2)),
            Duration: args.Duration("duration", TimeSpan.FromSeconds(10)),
            Requests: args.WholeNumber("requests"),
            Rate: args.Number("rate"),
            Progress: !args.Flag("no-progress"),
            ServerPid: (int?)args.WholeNumber("server-pid"));

        if (options.Connections < 1 || options.Concurrency < 1)
        {
            throw new ArgumentException("--connections and --concurrency must be at least 1.");
        }

        if (options.Connections > options.Concurrency)
        {
            throw new ArgumentException("--connections must not exceed --concurrency (each connection needs a worker).");
        }

        if (options.Requests is <= 0 || options.Rate is <= 0)
        {
            throw new ArgumentException("--requests and --rate must be positive.");
        }

        return options;
    }
}
