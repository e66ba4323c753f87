using Contoso.Retail.Contracts;

using Grpc.Core;
using Grpc.Core.Interceptors;

namespace Contoso.Retail.ServiceDefaults.Interceptors;

// An interceptor rather than the ASP.NET Core auth middleware, which cost about half the calls/s even with a token
// cache (PERFORMANCE-NOTES); it also reads each method's required scope from the proto.
/// <summary>
/// Needs `authorization: Bearer &lt;jwt&gt;` with the scope the method declares (options.v1.required_scope): no or bad
/// token is UNAUTHENTICATED; a missing scope, or a method declaring none, PERMISSION_DENIED. Health and reflection
/// are anonymous. Handlers read the caller with <see cref="CallerIdentityExtensions.Caller"/>.
/// </summary>
public sealed class AuthInterceptor(BearerTokenValidator validator) : Interceptor
{
    public const string Header = "authorization";

    private const string BearerPrefix = "Bearer ";

    // RFC 6750: tells a client what kind of credential the server wants, without saying what was wrong with one.
    private const string ChallengeValue = "Bearer error=\"invalid_token\"";

    private static readonly Metadata Challenge = new() { { "www-authenticate", ChallengeValue } };

    // Not an async method: a cached token is checked synchronously, and the call then returns the handler's own task
    // rather than one more state machine awaiting it (an allocation on every unary call).
    public override Task<TResponse> UnaryServerHandler<TRequest, TResponse>(
        TRequest request, ServerCallContext context, UnaryServerMethod<TRequest, TResponse> continuation)
    {
        var authorized = AuthorizeAsync(context);
        return authorized.IsCompletedSuccessfully
            ? continuation(request, context)
            : ContinueWhenAuthorizedAsync(authorized, request, context, continuation);
    }

    private static async Task<TResponse> ContinueWhenAuthorizedAsync<TRequest, TResponse>(
        ValueTask authorized, TRequest request, ServerCallContext context, UnaryServerMethod<TRequest, TResponse> continuation)
        where TRequest : class
        where TResponse : class
    {
        await authorized;
        return await continuation(request, context);
    }

    public override async Task<TResponse> ClientStreamingServerHandler<TRequest, TResponse>(
        IAsyncStreamReader<TRequest> requestStream, ServerCallContext context,
        ClientStreamingServerMethod<TRequest, TResponse> continuation)
    {
        await AuthorizeAsync(context);
        return await continuation(requestStream, context);
    }

    public override async Task ServerStreamingServerHandler<TRequest, TResponse>(
        TRequest request, IServerStreamWriter<TResponse> responseStream, ServerCallContext context,
        ServerStreamingServerMethod<TRequest, TResponse> continuation)
    {
        await AuthorizeAsync(context);
        await continuation(request, responseStream, context);
    }

    public override async Task DuplexStreamingServerHandler<TRequest, TResponse>(
        IAsyncStreamReader<TRequest> requestStream, IServerStreamWriter<TResponse> responseStream,
        ServerCallContext context, DuplexStreamingServerMethod<TRequest, TResponse> continuation)
    {
        await AuthorizeAsync(context);
        await continuation(requestStream, responseStream, context);
    }

    /// <summary>Probes and tools must reach these without a token.</summary>
    public static bool IsAnonymous(string method) =>
        method.StartsWith("/grpc.health.v1.Health/", StringComparison.Ordinal)
        || method.StartsWith("/grpc.reflection.", StringComparison.Ordinal);

    private async ValueTask AuthorizeAsync(ServerCallContext context)
    {
        if (IsAnonymous(context.Method))
        {
            return;
        }

        var header = ServerCallHeaders.Get(context, Header);
        if (header is null || !header.StartsWith(BearerPrefix, StringComparison.OrdinalIgnoreCase) || header.Length == BearerPrefix.Length)
        {
            throw Unauthenticated(context, "A bearer token is required (metadata 'authorization: Bearer <token>').");
        }

        var caller = await validator.ValidateAsync(header.AsSpan(BearerPrefix.Length).Trim())
            ?? throw Unauthenticated(context, "The bearer token is not valid (expired, not yet valid, or not issued for this service).");

        var scope = ContractMethods.RequiredScope(context.Method)
            ?? throw new RpcException(new Status(StatusCode.PermissionDenied, $"{context.Method} declares no required scope, so nobody may call it."));
        if (!caller.HasScope(scope))
        {
            throw new RpcException(new Status(StatusCode.PermissionDenied, $"This call requires the scope '{scope}'."));
        }

        context.GetHttpContext().User = caller.Principal;
    }

    private static RpcException Unauthenticated(ServerCallContext context, string message)
    {
        // A REST call (JSON transcoding) gets a 401 without trailers; HTTP wants the challenge on it as a header.
        if (ServerCallHeaders.HttpContextOf(context) is { } http
            && !(http.Request.ContentType ?? "").StartsWith("application/grpc", StringComparison.OrdinalIgnoreCase))
        {
            http.Response.Headers.WWWAuthenticate = ChallengeValue;
        }

        return new RpcException(new Status(StatusCode.Unauthenticated, message), Challenge);
    }
}
