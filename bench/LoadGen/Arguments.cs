using System.Globalization;
using System.Numerics;

namespace Contoso.Retail.LoadGen;

/// <summary>
/// `command --name value --flag ...`: every option is a long name; a name with no value is a flag.
/// Each getter marks its option as known, so <see cref="ThrowIfUnknown"/> can reject typos.
/// </summary>
public sealed class Arguments
{
    private readonly Dictionary<string, string> _values = new(StringComparer.Ordinal);
    private readonly HashSet<string> _known = new(StringComparer.Ordinal);

    private Arguments(string command) => Command = command;

    public string Command { get; }

    /// <exception cref="ArgumentException">No command, a value without a name, or an option given twice.</exception>
    public static Arguments Parse(IReadOnlyList<string> args)
    {
        ArgumentNullException.ThrowIfNull(args);
        if (args.Count == 0 || args[0].StartsWith("--", StringComparison.Ordinal))
        {
            throw new ArgumentException("A command comes first: run, prepare, wait-serving, grpc-body.");
        }

        var parsed = new Arguments(args[0]);
        for (var i = 1; i < args.Count; i++)
        {
            var arg = args[i];
            if (!arg.StartsWith("--", StringComparison.Ordinal) || arg.Length == 2)
            {
                throw new ArgumentException($"Unexpected '{arg}': options are --name value.");
            }

            var name = arg[2..];
            var value = "true";
            var equals = name.IndexOf('=', StringComparison.Ordinal);
            if (equals > 0)
            {
                value = name[(equals + 1)..];
                name = name[..equals];
            }
            else if (i + 1 < args.Count && !args[i + 1].StartsWith("--", StringComparison.Ordinal))
            {
                value = args[++i];
            }

            if (!parsed._values.TryAdd(name, value))
            {
                throw new ArgumentException($"--{name} is given twice.");
            }
        }

        return parsed;
    }

    public string? Get(string name)
    {
        _known.Add(name);
        return _values.GetValueOrDefault(name);
    }

    public string Get(string name, string defaultValue) => Get(name) ?? defaultValue;

    public string Required(string name) => Get(name) ?? throw new ArgumentException($"--{name} is required.");

    public bool Flag(string name) => Get(name) is { } value && bool.Parse(value);

    public int Count(string name, int defaultValue) => Get(name) is { } value ? ParseNumber<int>(name, value) : defaultValue;

    public long? WholeNumber(string name) => Get(name) is { } value ? ParseNumber<long>(name, value) : null;

    public double? Number(string name) => Get(name) is { } value ? ParseNumber<double>(name, value) : null;

    public TimeSpan Duration(string name, TimeSpan defaultValue) => Get(name) is { } value ? ParseDuration(name, value) : defaultValue;

    /// <summary>Comma-separated values.</summary>
    public IReadOnlyList<string> List(string name, params string[] defaultValues) =>
        Get(name) is { } value ? value.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries) : defaultValues;

    /// <exception cref="ArgumentException">An option no getter asked for.</exception>
    public void ThrowIfUnknown()
    {
        var unknown = _values.Keys.Where(name => !_known.Contains(name)).Order(StringComparer.Ordinal).ToList();
        if (unknown.Count > 0)
        {
            throw new ArgumentException($"Unknown option(s) for '{Command}': {string.Join(", ", unknown.Select(n => "--" + n))}.");
        }
    }

    /// <summary>"10s", "500ms", "2m", "1h", or a plain number of seconds.</summary>
    public static TimeSpan ParseDuration(string name, string value)
    {
        ArgumentNullException.ThrowIfNull(value);
        var (number, unit) = value switch
        {
            _ when value.EndsWith("ms", StringComparison.Ordinal) => (value[..^2], 0.001),
            _ when value.EndsWith('s') => (value[..^1], 1.0),
            _ when value.EndsWith('m') => (value[..^1], 60.0),
            _ when value.EndsWith('h') => (value[..^1], 3600.0),
            _ => (value, 1.0),
        };
        return double.TryParse(number, NumberStyles.Float, CultureInfo.InvariantCulture, out var amount) && amount >= 0
            ? TimeSpan.FromSeconds(amount * unit)
            : throw new ArgumentException($"--{name}: '{value}' is not a duration (e.g. 10s, 500ms, 2m).");
    }

    private static T ParseNumber<T>(string name, string value)
        where T : INumber<T> =>
        T.TryParse(value, NumberStyles.Float, CultureInfo.InvariantCulture, out var number)
            ? number
            : throw new ArgumentException($"--{name}: '{value}' is not a number.");
}
