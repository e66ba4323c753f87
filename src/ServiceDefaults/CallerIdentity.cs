using System.Security.Claims;

using Grpc.Core;

namespace Contoso.Retail.ServiceDefaults;

/// <summary>Who is calling: the token's subject and scopes, valid until <see cref="ExpiresUtc"/>.</summary>
public sealed record CallerIdentity(string Subject, IReadOnlySet<string> Scopes, DateTime ExpiresUtc, ClaimsPrincipal Principal)
{
    public bool HasScope(string scope) => Scopes.Contains(scope);
}

public static class CallerIdentityExtensions
{
    private static readonly object CallerKey = new();

    /// <summary>The authenticated caller of this call; null only for anonymous methods (health, reflection).</summary>
    public static CallerIdentity? Caller(this ServerCallContext context)
    {
        ArgumentNullException.ThrowIfNull(context);
        return context.UserState.TryGetValue(CallerKey, out var caller) ? (CallerIdentity)caller : null;
    }

    internal static void SetCaller(this ServerCallContext context, CallerIdentity caller) => context.UserState[CallerKey] = caller;
}
