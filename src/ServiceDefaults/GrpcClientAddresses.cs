using System.Globalization;
using System.Net;

using Grpc.Net.Client.Balancer;

namespace Contoso.Retail.ServiceDefaults;

// The targets Services:{name} may hold, parsed once here for the client registration and the resolvers.
public static partial class GrpcClients
{
    /// <summary>Scheme of a target re-resolved through DNS, every address balanced round-robin.</summary>
    public const string DnsScheme = "dns";

    /// <summary>Scheme of a fixed list of addresses balanced round-robin (tests, local runs).</summary>
    public const string StaticScheme = "static";

    /// <summary>
    /// The target of Services:{serviceName}, checked: an absolute http(s) URL, <c>dns:///host:port</c> or
    /// <c>static:///host:port,host:port</c>.
    /// </summary>
    /// <exception cref="InvalidOperationException">The value is none of those, naming the setting and the forms.</exception>
    public static Uri ServiceAddress(string? address, string serviceName)
    {
        if (Uri.TryCreate(address, UriKind.Absolute, out var uri))
        {
            var valid = uri.Scheme switch
            {
                "http" or "https" => true,
                DnsScheme => uri.Authority.Length == 0 && TryParseHostPort(TargetOf(uri), out _),
                StaticScheme => uri.Authority.Length == 0 && TryParseStaticList(uri, out _),
                _ => false,
            };
            if (valid)
            {
                return uri;
            }
        }

        throw new InvalidOperationException(
            $"Services:{serviceName} must be the address of {serviceName}'s gRPC endpoint: http(s)://host:port, " +
            $"dns:///host:port (every address of host, round-robin) or static:///host:port,host:port (got '{address}').");
    }

    /// <summary>Whether calls to <paramref name="address"/> are balanced over several addresses (dns or static scheme).</summary>
    public static bool IsBalanced(Uri address)
    {
        ArgumentNullException.ThrowIfNull(address);
        return address.Scheme is DnsScheme or StaticScheme;
    }

    /// <summary>The addresses of a <c>static:///host:port,host:port</c> target, in order.</summary>
    /// <exception cref="InvalidOperationException">It is not a well-formed static list.</exception>
    public static IReadOnlyList<BalancerAddress> StaticAddresses(Uri address)
    {
        ArgumentNullException.ThrowIfNull(address);
        return address.Scheme == StaticScheme && TryParseStaticList(address, out var addresses)
            ? addresses
            : throw new InvalidOperationException($"'{address}' is not a static:///host:port,host:port list.");
    }

    /// <summary>"host:port" from "dns:///host:port" (the path; percent-escapes undone).</summary>
    private static string TargetOf(Uri uri) => Uri.UnescapeDataString(uri.AbsolutePath.TrimStart('/'));

    private static bool TryParseStaticList(Uri uri, out List<BalancerAddress> addresses)
    {
        addresses = [];
        foreach (var part in TargetOf(uri).Split(',', StringSplitOptions.TrimEntries))
        {
            if (!TryParseHostPort(part, out var address))
            {
                return false;
            }

            addresses.Add(address);
        }

        return addresses.Count > 0;
    }

    /// <summary>"host:port", "1.2.3.4:port" or "[::1]:port"; the port is required.</summary>
    private static bool TryParseHostPort(string value, out BalancerAddress address)
    {
        address = null!;
        if (value.StartsWith('['))
        {
            if (!IPEndPoint.TryParse(value, out var ip) || ip.Port == 0)
            {
                return false;
            }

            address = new BalancerAddress(ip.Address.ToString(), ip.Port);
            return true;
        }

        var colon = value.LastIndexOf(':');
        if (colon <= 0 || value.IndexOf(':', StringComparison.Ordinal) != colon
            || !int.TryParse(value.AsSpan(colon + 1), NumberStyles.None, CultureInfo.InvariantCulture, out var port)
            || port is < 1 or > 65535
            || Uri.CheckHostName(value[..colon]) is UriHostNameType.Unknown or UriHostNameType.Basic)
        {
            return false;
        }

        address = new BalancerAddress(value[..colon], port);
        return true;
    }
}
