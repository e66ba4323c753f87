using Contoso.Retail.ServiceDefaults.Data;
using Contoso.Retail.ServiceDefaults.Tests.TestService;
using Contoso.Retail.TestSupport;

using Grpc.Core;
using Grpc.Reflection.V1Alpha;

using Microsoft.Extensions.Hosting;

namespace Contoso.Retail.ServiceDefaults.Tests.Hosting;

/// <summary>gRPC server reflection (what grpcurl uses without protos) exists in Development only.</summary>
public class ReflectionTests
{
    [Fact]
    public async Task Server_reflection_lists_the_services_in_Development()
    {
        await using var db = await TestDatabase.CreateAsync(DatabaseProvider.Sqlite);
        await using var host = await NotesHost.StartAsync(
            db.Settings("Notes"), builder => builder.Environment.EnvironmentName = Environments.Development);

        var services = await ListServicesAsync(host);

        Assert.Contains(NotesHost.ServiceName, services);
        Assert.Contains("grpc.health.v1.Health", services);
    }

    [Fact]
    public async Task Server_reflection_is_UNIMPLEMENTED_outside_Development()
    {
        await using var db = await TestDatabase.CreateAsync(DatabaseProvider.Sqlite);
        await using var host = await NotesHost.StartAsync(db.Settings("Notes"));

        await RpcAssert.ThrowsAsync(StatusCode.Unimplemented, () => ListServicesAsync(host));
    }

    private static async Task<List<string>> ListServicesAsync(NotesHost host)
    {
        var client = new ServerReflection.ServerReflectionClient(host.Service.Channel);
        using var call = client.ServerReflectionInfo(cancellationToken: NotesHost.Ct);
        try
        {
            await call.RequestStream.WriteAsync(new ServerReflectionRequest { ListServices = "" }, NotesHost.Ct);
            await call.RequestStream.CompleteAsync();
        }
        catch (RpcException)
        {
            // The service may end the call before the request is written (UNIMPLEMENTED outside Development); the
            // client then reports the write as CANCELLED. The call's own status comes from the response below.
        }

        Assert.True(await call.ResponseStream.MoveNext(NotesHost.Ct));
        return call.ResponseStream.Current.ListServicesResponse.Service.Select(s => s.Name).ToList();
    }
}
