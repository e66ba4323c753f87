using System.Collections.Concurrent;

using Contoso.Retail.ServiceDefaults.Data;
using Contoso.Retail.ServiceDefaults.Tests.TestService;
using Contoso.Retail.ServiceDefaults.Tests.TestService.Notes.V1;
using Contoso.Retail.TestSupport;

using Grpc.AspNetCore.Server;
using Grpc.Core;
using Grpc.Core.Interceptors;

using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.Extensions.DependencyInjection;

namespace Contoso.Retail.ServiceDefaults.Tests.Auth;

/// <summary>A handler reads its caller with ServerCallContext.Caller(); keeping it costs an authorized call nothing.</summary>
public class CallerTests
{
    [Fact]
    public async Task A_handler_finds_the_tokens_caller_and_no_call_creates_HttpContext_Items_for_it()
    {
        // HttpContext.Items is made on first use, per request: a dictionary every authorized call paid for when the
        // caller was kept in ServerCallContext.UserState, which grpc-dotnet keeps there.
        var probe = new CallerProbe();
        await using var db = await TestDatabase.CreateAsync(DatabaseProvider.Sqlite);
        await using var host = await NotesHost.StartAsync(db.Settings("Notes"), builder =>
        {
            builder.Services.AddSingleton(probe);
            builder.Services.AddSingleton<IStartupFilter>(probe);
            // Added after the service defaults' interceptors, so it runs inside AuthInterceptor, as a handler does.
            builder.Services.PostConfigure<GrpcServiceOptions>(options => options.Interceptors.Add<CallerProbe>());
        });
        using var channel = host.Service.CreateChannel(host.Service.MintToken(["notes.read", "notes.write"], subject: "alice"));
        var client = new NoteService.NoteServiceClient(channel);

        await client.SaveNoteAsync(new SaveNoteRequest { Note = new Note { Id = "n-1", Text = "hello" } }, cancellationToken: NotesHost.Ct);
        await client.ListNotesAsync(new ListNotesRequest(), cancellationToken: NotesHost.Ct);

        Assert.Equal(["alice", "alice"], probe.Callers);
        Assert.Equal(2, probe.NotesRequests.Count);
        Assert.All(probe.NotesRequests, hadItems => Assert.False(hadItems, "a call created HttpContext.Items"));
    }

    /// <summary>Records each call's caller (as an interceptor) and whether each Notes request ended with Items made.</summary>
    private sealed class CallerProbe : Interceptor, IStartupFilter
    {
        public ConcurrentQueue<string?> Callers { get; } = new();

        public ConcurrentQueue<bool> NotesRequests { get; } = new();

        public override Task<TResponse> UnaryServerHandler<TRequest, TResponse>(
            TRequest request, ServerCallContext context, UnaryServerMethod<TRequest, TResponse> continuation)
        {
            Callers.Enqueue(context.Caller()?.Subject);
            return continuation(request, context);
        }

        public Action<IApplicationBuilder> Configure(Action<IApplicationBuilder> next) => app =>
        {
            app.Use(async (HttpContext context, RequestDelegate inner) =>
            {
                await inner(context);
                if (context.Request.Path.StartsWithSegments($"/{NotesHost.ServiceName}"))
                {
                    NotesRequests.Enqueue(context.Features.Get<IItemsFeature>() is not null);
                }
            });
            next(app);
        };
    }
}
