using System.Diagnostics;

using BenchmarkDotNet.Attributes;

using Contoso.Retail.Contracts.Auth;
using Contoso.Retail.Contracts.Inventory.V1;
using Contoso.Retail.ServiceDefaults;
using Contoso.Retail.ServiceDefaults.Interceptors;

using Grpc.Core;

using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

using Serilog;
using Serilog.Extensions.Logging;

namespace Contoso.Retail.Micro;

/// <summary>
/// The server interceptors ServiceDefaults adds (call logging, auth with a cached token, exceptions) around a
/// handler that returns at once, one by one and chained as the services run them. Serilog at Information, as the
/// services ship, so the per-call line (Debug) is filtered out and what remains is the always-on work. An
/// Activity is current, as when OpenTelemetry traces the incoming call.
/// </summary>
[MemoryDiagnoser]
#pragma warning disable CA1001 // BenchmarkDotNet owns the lifetime: GlobalCleanup disposes the logger factory.
public class InterceptorChainBenchmarks
#pragma warning restore CA1001
{
    private static readonly GetItemResponse Response = new() { Item = new Item { Sku = "KB-001", Name = "Mechanical keyboard", Available = 50 } };

    private readonly GetItemRequest _request = new() { Sku = "KB-001" };
    private readonly UnaryServerMethod<GetItemRequest, GetItemResponse> _handler = static (_, _) => Task.FromResult(Response);
    private FakeCallContext _context = null!;
    private SerilogLoggerFactory _loggers = null!;
    private ActivityListener _listener = null!;
    private ActivitySource _source = null!;
    private Activity? _activity;
    private CallLoggingInterceptor _logging = null!;
    private AuthInterceptor _auth = null!;
    private ExceptionInterceptor _exceptions = null!;
    private UnaryServerMethod<GetItemRequest, GetItemResponse> _chain = null!;
    private ServiceProvider _services = null!;

    [GlobalSetup]
    public void Setup()
    {
        _source = new ActivitySource("Contoso.Retail.Micro");
        _listener = new ActivityListener
        {
            ShouldListenTo = source => source == _source,
            Sample = (ref _) => ActivitySamplingResult.AllDataAndRecorded,
        };
        ActivitySource.AddActivityListener(_listener);
        _activity = _source.StartActivity("GetItem", ActivityKind.Server);

        var serilog = new LoggerConfiguration().MinimumLevel.Information().Enrich.FromLogContext().Enrich.With<CallLogEnricher>().CreateLogger();
        _loggers = new SerilogLoggerFactory(serilog, dispose: true);
        _logging = new CallLoggingInterceptor(_loggers.CreateLogger<CallLoggingInterceptor>(), new ConfigurationBuilder().Build());
        _auth = new AuthInterceptor(AuthBenchmarks.Validator(cacheSize: 10_000));
        _exceptions = new ExceptionInterceptor(NullLogger<ExceptionInterceptor>.Instance);
        _services = new ServiceCollection().AddLogging().BuildServiceProvider();

        var token = DevTokens.Mint("micro", ["inventory.read"], TimeSpan.FromHours(1));
        _context = new FakeCallContext("/inventory.v1.InventoryService/GetItem", new Metadata { { "authorization", "Bearer " + token } });

        // The order AddDefaultGrpc registers them in: outermost first.
        UnaryServerMethod<GetItemRequest, GetItemResponse> inner = (r, c) => _exceptions.UnaryServerHandler(r, c, _handler);
        UnaryServerMethod<GetItemRequest, GetItemResponse> middle = (r, c) => _auth.UnaryServerHandler(r, c, inner);
        _chain = (r, c) => _logging.UnaryServerHandler(r, c, middle);
    }

    [GlobalCleanup]
    public void Cleanup()
    {
        _activity?.Dispose();
        _listener.Dispose();
        _source.Dispose();
        _loggers.Dispose();
        _services.Dispose();
    }

    [Benchmark(Baseline = true)]
    public Task<GetItemResponse> HandlerOnly() => _handler(_request, _context.NewCall());

    [Benchmark]
    public Task<GetItemResponse> ExceptionInterceptor() => _exceptions.UnaryServerHandler(_request, _context.NewCall(), _handler);

    [Benchmark]
    public Task<GetItemResponse> AuthInterceptorCachedToken() => _auth.UnaryServerHandler(_request, _context.NewCall(), _handler);

    [Benchmark]
    public Task<GetItemResponse> CallLoggingInterceptor() => _logging.UnaryServerHandler(_request, _context.NewCall(), _handler);

    [Benchmark]
    public Task<GetItemResponse> FullChain() => _chain(_request, _context.NewCall());

    /// <summary>What grpc-dotnet does per call for an interceptor type that is not registered in DI.</summary>
    [Benchmark]
    public Task<GetItemResponse> ExceptionInterceptorBuiltPerCall() =>
        ActivatorUtilities.CreateInstance<ExceptionInterceptor>(_services).UnaryServerHandler(_request, _context.NewCall(), _handler);
}
