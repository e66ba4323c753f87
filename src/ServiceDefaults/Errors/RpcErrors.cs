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
    /// <summary>At most this many field violations are returned; the rest are counted in a last one (field "").</summary>
    public const int MaxFieldViolations = 50;

    /// <summary>Field names and descriptions are cut to this many characters (they may quote the request).</summary>
    public const int MaxViolationTextLength = 256;

    /// <summary>The status message lists at most this many violations; the details carry up to <see cref="MaxFieldViolations"/>.</summary>
    private const int ViolationsInMessage = 5;

    /// <summary>
    /// INVALID_ARGUMENT with google.rpc.BadRequest. Bounded whatever the request: the message and details travel in
    /// HTTP/2 trailers, and a request with thousands of bad fields must not produce trailers larger than a client
    /// accepts (64 KB in .NET), which would fail the client's whole connection rather than just this call.
    /// </summary>
    public static RpcException InvalidArgument(IEnumerable<BadRequest.Types.FieldViolation> violations)
    {
        ArgumentNullException.ThrowIfNull(violations);
        var all = violations.ToList();
        var badRequest = new BadRequest();
        badRequest.FieldViolations.AddRange(all.Take(MaxFieldViolations).Select(v => new BadRequest.Types.FieldViolation
        {
            Field = Cut(v.Field),
            Description = Cut(v.Description),
        }));
        if (all.Count > MaxFieldViolations)
        {
            badRequest.FieldViolations.Add(new BadRequest.Types.FieldViolation
            {
                Field = "",
                Description = $"{all.Count - MaxFieldViolations} more violations not listed",
            });
        }

        var summary = string.Join("; ", badRequest.FieldViolations.Take(ViolationsInMessage).Select(v => $"{v.Field}: {v.Description}"));
        var more = all.Count > ViolationsInMessage ? $" (and {all.Count - ViolationsInMessage} more)" : "";
        return Build(Code.InvalidArgument, $"Invalid request: {summary}{more}", badRequest);
    }

    private static string Cut(string text) => text.Length <= MaxViolationTextLength ? text : text[..(MaxViolationTextLength - 3)] + "...";

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
