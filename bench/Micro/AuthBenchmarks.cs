using BenchmarkDotNet.Attributes;

using Contoso.Retail.Contracts.Auth;
using Contoso.Retail.ServiceDefaults;

using Microsoft.Extensions.Logging.Abstractions;

namespace Contoso.Retail.Micro;

/// <summary>Checking a bearer token: the cached path every repeated token takes, against full JWT validation.</summary>
[MemoryDiagnoser]
public class AuthBenchmarks
{
    private BearerTokenValidator _cached = null!;
    private BearerTokenValidator _uncached = null!;
    private string _token = null!;

    public static BearerTokenValidator Validator(int cacheSize) =>
        new(new AuthOptions { DevSigningKey = DevTokens.DevelopmentKey, TokenCacheSize = cacheSize }, NullLogger<BearerTokenValidator>.Instance);

    [GlobalSetup]
    public async Task Setup()
    {
        _token = DevTokens.Mint("micro", ["inventory.read", "orders.write"], TimeSpan.FromHours(1));
        _cached = Validator(cacheSize: 10_000);
        _uncached = Validator(cacheSize: 0);
        _ = await _cached.ValidateAsync(_token) ?? throw new InvalidOperationException("The benchmark token is not valid.");
    }

    [Benchmark(Baseline = true)]
    public async Task<bool> CachedToken() => (await _cached.ValidateAsync(_token))!.HasScope("inventory.read");

    [Benchmark]
    public async Task<bool> FullValidation() => (await _uncached.ValidateAsync(_token))!.HasScope("inventory.read");
}
