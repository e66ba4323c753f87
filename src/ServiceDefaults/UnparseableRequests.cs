using System.Diagnostics.CodeAnalysis;
using System.Diagnostics.Metrics;
using System.Reflection;

using Grpc.AspNetCore.Server.Model;
using Grpc.Core;

using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Logging;

using Serilog.Events;

namespace Contoso.Retail.ServiceDefaults;

/// <summary>
/// Request bytes that do not parse as the method's request message: INVALID_ARGUMENT naming the method, one
/// Information line without a stack trace, and <c>grpc.requests.unparseable</c> (meter Contoso.Retail.Grpc, tag
/// <c>method</c>). grpc-dotnet deserializes before any interceptor runs, so this lives in the request marshaller;
/// frames that lie about their compression get the same answer from <see cref="UnparseableFrames"/>.
/// </summary>
public sealed partial class UnparseableRequests
{
    public const string MeterName = "Contoso.Retail.Grpc";

    private readonly ILogger<UnparseableRequests> _logger;
    private readonly Counter<long> _count;

    public UnparseableRequests(ILogger<UnparseableRequests> logger, IMeterFactory meterFactory)
    {
        ArgumentNullException.ThrowIfNull(meterFactory);
        _logger = logger;
        _count = meterFactory.Create(MeterName)
            .CreateCounter<long>("grpc.requests.unparseable", "{message}", "Request messages that did not parse, by method.");
    }

    public static string MessageFor(string path) => $"The request message for {path} could not be parsed.";

    /// <summary>Replaces grpc-dotnet's own method provider with <see cref="ParsingMethodProvider{TService}"/> for every service.</summary>
    internal static void Register(IServiceCollection services)
    {
        services.TryAddSingleton<UnparseableRequests>();
        foreach (var descriptor in services.Where(d => IsFrameworkBinder(d.ServiceType, d.ImplementationType)).ToList())
        {
            services.Remove(descriptor);
        }

        services.TryAddEnumerable(ServiceDescriptor.Singleton(typeof(IServiceMethodProvider<>), typeof(ParsingMethodProvider<>)));
    }

    /// <summary>
    /// Fails start-up when AddGrpc() ran again after AddServiceDefaults() and put grpc-dotnet's provider back: every
    /// method would then be mapped twice (an ambiguous route).
    /// </summary>
    internal static void EnsureSoleProvider(IServiceProvider services)
    {
        var providers = services.GetServices<IServiceMethodProvider<ProbeService>>();
        if (providers.Any(provider => IsFrameworkBinder(typeof(IServiceMethodProvider<>), provider.GetType())))
        {
            throw new InvalidOperationException("AddGrpc() was called after AddServiceDefaults(); call it before, so unparseable requests keep their status.");
        }
    }

    internal Marshaller<TRequest> Guard<TRequest>(string path, Marshaller<TRequest> inner)
    {
        var deserialize = inner.ContextualDeserializer;
        return new Marshaller<TRequest>(inner.ContextualSerializer, context =>
        {
            try
            {
                return deserialize(context);
            }
            catch (Exception ex) when (ex is not RpcException and not OperationCanceledException)
            {
                throw Refuse(path, ex.Message);
            }
        });
    }

    /// <summary>
    /// Counts and logs a request whose bytes cannot be read as the method's messages, and returns the exception that
    /// answers it. The caller's bytes are at fault, not the server: no stack trace, and not the UNKNOWN grpc-dotnet would send.
    /// </summary>
    internal RpcException Refuse(string path, string reason)
    {
        _count.Add(1, new KeyValuePair<string, object?>("method", path));
        LogUnparseable(_logger, path, reason);
        return new UnparseableRequestException(path);
    }

    /// <summary>grpc-dotnet logs the exception again, stack trace and all, as "Error reading message."; this line already said it.</summary>
    internal static bool IsFrameworkEcho(LogEvent logEvent) => logEvent.Exception is UnparseableRequestException;

    private static bool IsFrameworkBinder(Type serviceType, Type? implementation) =>
        serviceType == typeof(IServiceMethodProvider<>)
        && implementation is { IsGenericType: true }
        && implementation.GetGenericTypeDefinition().FullName == "Grpc.AspNetCore.Server.Model.Internal.BinderServiceMethodProvider`1";

    [LoggerMessage(Level = LogLevel.Information, Message = "Unparseable request message for {GrpcMethod}: {ParseError}")]
    private static partial void LogUnparseable(ILogger logger, string grpcMethod, string parseError);

    internal sealed class ProbeService;

    private sealed class UnparseableRequestException(string path)
        : RpcException(new Status(StatusCode.InvalidArgument, MessageFor(path)));
}

/// <summary>
/// What grpc-dotnet's BinderServiceMethodProvider does - call the generated static BindService and map each method
/// to the service's override, with the class and method attributes as endpoint metadata - except that each
/// method's request marshaller is guarded by <see cref="UnparseableRequests"/>.
/// </summary>
internal sealed class ParsingMethodProvider<[DynamicallyAccessedMembers(DynamicallyAccessedMemberTypes.All)] TService>(
    UnparseableRequests unparseable) : IServiceMethodProvider<TService>
    where TService : class
{
    public void OnServiceMethodDiscovery(ServiceMethodProviderContext<TService> context)
    {
        var bind = FindBindService(typeof(TService));
        if (bind is null)
        {
            return;
        }

        var binder = new Binder(context, bind.GetParameters()[1].ParameterType, unparseable);
        bind.Invoke(null, [binder, null]);
    }

    // The generated base class carries [BindServiceMethod(typeof(Outer), "BindService")].
    private static MethodInfo? FindBindService(Type? type)
    {
        for (; type is not null; type = type.BaseType)
        {
            if (type.GetCustomAttribute<BindServiceMethodAttribute>() is { } attribute)
            {
                return attribute.BindType.GetMethod(
                    attribute.BindMethodName, BindingFlags.Public | BindingFlags.Static, [typeof(ServiceBinderBase), type]);
            }
        }

        return null;
    }

    private sealed class Binder(ServiceMethodProviderContext<TService> context, Type generatedBase, UnparseableRequests unparseable)
        : ServiceBinderBase
    {
        public override void AddMethod<TRequest, TResponse>(Method<TRequest, TResponse> method, UnaryServerMethod<TRequest, TResponse>? handler)
        {
            var (invoker, metadata) = Model<UnaryServerMethod<TService, TRequest, TResponse>>(method.Name, typeof(TRequest), typeof(ServerCallContext));
            context.AddUnaryMethod(Guarded(method), metadata, invoker);
        }

        public override void AddMethod<TRequest, TResponse>(Method<TRequest, TResponse> method, ClientStreamingServerMethod<TRequest, TResponse>? handler)
        {
            var (invoker, metadata) = Model<ClientStreamingServerMethod<TService, TRequest, TResponse>>(
                method.Name, typeof(IAsyncStreamReader<TRequest>), typeof(ServerCallContext));
            context.AddClientStreamingMethod(Guarded(method), metadata, invoker);
        }

        public override void AddMethod<TRequest, TResponse>(Method<TRequest, TResponse> method, ServerStreamingServerMethod<TRequest, TResponse>? handler)
        {
            var (invoker, metadata) = Model<ServerStreamingServerMethod<TService, TRequest, TResponse>>(
                method.Name, typeof(TRequest), typeof(IServerStreamWriter<TResponse>), typeof(ServerCallContext));
            context.AddServerStreamingMethod(Guarded(method), metadata, invoker);
        }

        public override void AddMethod<TRequest, TResponse>(Method<TRequest, TResponse> method, DuplexStreamingServerMethod<TRequest, TResponse>? handler)
        {
            var (invoker, metadata) = Model<DuplexStreamingServerMethod<TService, TRequest, TResponse>>(
                method.Name, typeof(IAsyncStreamReader<TRequest>), typeof(IServerStreamWriter<TResponse>), typeof(ServerCallContext));
            context.AddDuplexStreamingMethod(Guarded(method), metadata, invoker);
        }

        private Method<TRequest, TResponse> Guarded<TRequest, TResponse>(Method<TRequest, TResponse> method)
            where TRequest : class
            where TResponse : class =>
            new(method.Type, method.ServiceName, method.Name,
                unparseable.Guard(method.FullName, method.RequestMarshaller), method.ResponseMarshaller);

        private (TDelegate Invoker, List<object> Metadata) Model<TDelegate>(string name, params Type[] parameters)
            where TDelegate : Delegate
        {
            var handler = FindOverride(name, parameters)
                ?? throw new InvalidOperationException($"Could not find '{name}' on {typeof(TService)}.");

            // Class attributes first, method attributes last (they win), as grpc-dotnet orders them; POST admits CORS preflight.
            List<object> metadata = [
                .. typeof(TService).GetCustomAttributes(inherit: true),
                .. handler.GetCustomAttributes(inherit: true),
                new HttpMethodMetadata(["POST"], acceptCorsPreflight: true)];
            return ((TDelegate)Delegate.CreateDelegate(typeof(TDelegate), handler), metadata);
        }

        // The override of the generated base's virtual method; a same-named method that hides it does not count.
        private MethodInfo? FindOverride(string name, Type[] parameters)
        {
            for (var type = typeof(TService); type is not null; type = type.BaseType)
            {
                var candidate = type.GetMethod(name, BindingFlags.Public | BindingFlags.Instance, parameters);
                if (candidate is null)
                {
                    return null;
                }

                if (candidate.IsVirtual && candidate.GetBaseDefinition().DeclaringType == generatedBase)
                {
                    return candidate;
                }
            }

            return null;
        }
    }
}
