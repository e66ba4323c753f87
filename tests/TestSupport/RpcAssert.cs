using Google.Rpc;

using Grpc.Core;

namespace Contoso.Retail.TestSupport;

/// <summary>Assertions on what a gRPC client sees when a call fails: the code and the google.rpc details.</summary>
public static class RpcAssert
{
    public static async Task<RpcException> ThrowsAsync(StatusCode code, Func<Task> call)
    {
        var ex = await Assert.ThrowsAsync<RpcException>(call);
        Assert.Equal(code, ex.StatusCode);
        return ex;
    }

    public static RpcException Throws(StatusCode code, Action call)
    {
        var ex = Assert.Throws<RpcException>(call);
        Assert.Equal(code, ex.StatusCode);
        return ex;
    }

    /// <summary>The fields named in the BadRequest detail, in order.</summary>
    public static List<string> ViolatedFields(this RpcException ex)
    {
        var badRequest = ex.GetRpcStatus()?.GetDetail<BadRequest>();
        Assert.NotNull(badRequest);
        return [.. badRequest.FieldViolations.Select(v => v.Field)];
    }

    public static List<PreconditionFailure.Types.Violation> PreconditionViolations(this RpcException ex)
    {
        var failure = ex.GetRpcStatus()?.GetDetail<PreconditionFailure>();
        Assert.NotNull(failure);
        return [.. failure.Violations];
    }
}
