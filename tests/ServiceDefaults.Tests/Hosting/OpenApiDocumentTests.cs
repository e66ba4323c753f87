using System.Net;

using Contoso.Retail.ServiceDefaults.Data;
using Contoso.Retail.ServiceDefaults.Tests.TestService;
using Contoso.Retail.TestSupport;

using Microsoft.Extensions.DependencyInjection;

using Swashbuckle.AspNetCore.Swagger;
using Swashbuckle.AspNetCore.SwaggerGen;

using HealthEndpoints = Contoso.Retail.ServiceDefaults.Health;

namespace Contoso.Retail.ServiceDefaults.Tests.Hosting;

/// <summary>The OpenAPI document is built for a request that asks for it, and by no other request.</summary>
public class OpenApiDocumentTests
{
    [Fact]
    public async Task Only_a_request_for_the_document_builds_its_generator()
    {
        // Swashbuckle's generator is transient: resolving it is what building the document starts with. As a
        // middleware in front of every endpoint, the document's handler resolved it for every request: each gRPC
        // call, and first the readiness probes the host waits for as it starts.
        var generators = 0;
        await using var db = await TestDatabase.CreateAsync(DatabaseProvider.Sqlite);
        await using var host = await NotesHost.StartAsync(db.Settings("Notes"), builder =>
            builder.Services.AddTransient<ISwaggerProvider>(services =>
            {
                Interlocked.Increment(ref generators);
                return ActivatorUtilities.CreateInstance<SwaggerGenerator>(services);
            }));

        for (var i = 0; i < 5; i++)
        {
            await host.Client.ListNotesAsync(new(), cancellationToken: NotesHost.Ct);
            await host.CheckAsync();
            Assert.Equal(HttpStatusCode.OK, await host.GetStatusAsync(HealthEndpoints.ReadyPath));
        }

        Assert.Equal(0, Volatile.Read(ref generators));

        using var document = await host.Http.GetAsync(Rest.DocumentPath, NotesHost.Ct);
        Assert.Equal(HttpStatusCode.OK, document.StatusCode);
        Assert.Contains("\"openapi\"", await document.Content.ReadAsStringAsync(NotesHost.Ct));
        Assert.True(Volatile.Read(ref generators) >= 1, "the document was served without resolving the generator");
    }
}
