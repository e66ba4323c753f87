using Google.Protobuf.WellKnownTypes;
using Google.Rpc;

using Grpc.Core;

namespace Contoso.Retail.ServiceDefaults.Errors;

/// <summary>
/// Builds <see cref="RpcException"/>s that carry google.rpc rich error details
/// (readable from any language through the grpc-status-details-bin trailer).
/// </summary>
public static class RpcErrors
{
    public static RpcException InvalidArgument(IEnumerable<BadRequest.Types.FieldViolation> violations)
    {
        var badRequest = new BadRequest();
        badRequest.FieldViolations.AddRange(violations);
        var summary = string.Join("; ", badRequest.FieldViolations.Select(v => $"{v.Field}: {v.Description}"));
        return Build(Code.InvalidArgument, $"Invalid request: {summary}", badRequest);
    }

    public static RpcException InvalidArgument(string field, string description) =>
        InvalidArgument([new BadRequest.Types.FieldViolation { Field = field, Description = description }]);

    public static RpcException NotFound(string resourceType, string resourceName) =>
        Build(Code.NotFound, $"{resourceType} '{resourceName}' was not found.",
            new ResourceInfo { ResourceType = resourceType, ResourceName = resourceName });

    public static RpcException AlreadyExists(string resourceType, string resourceName, string message) =>
        Build(Code.AlreadyExists, message,
            new ResourceInfo { ResourceType = resourceType, ResourceName = resourceName });

    /// <summary>FAILED_PRECONDITION with one violation per subject (e.g. one per SKU that is short).</summary>
    public static RpcException FailedPrecondition(string message, IEnumerable<PreconditionFailure.Types.Violation> violations)
    {
        var failure = new PreconditionFailure();
        failure.Violations.AddRange(violations);
        return Build(Code.FailedPrecondition, message, failure);
    }

    public static RpcException Unavailable(string message) =>
        new Google.Rpc.Status { Code = (int)Code.Unavailable, Message = message }.ToRpcException();

    private static RpcException Build(Code code, string message, Google.Protobuf.IMessage detail) =>
        new Google.Rpc.Status
        {
            Code = (int)code,
            Message = message,
            Details = { Any.Pack(detail) },
        }.ToRpcException();
}
