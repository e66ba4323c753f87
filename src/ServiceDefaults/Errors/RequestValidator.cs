using Google.Rpc;

using Grpc.Core;

namespace Contoso.Retail.ServiceDefaults.Errors;

/// <summary>
/// Collects every field violation of a request so the client hears about all of them at once,
/// then throws INVALID_ARGUMENT with google.rpc.BadRequest if there were any.
/// </summary>
public sealed class RequestValidator
{
    private readonly List<BadRequest.Types.FieldViolation> _violations = [];

    public bool IsValid => _violations.Count == 0;

    public RequestValidator Add(string field, string description)
    {
        _violations.Add(new BadRequest.Types.FieldViolation { Field = field, Description = description });
        return this;
    }

    /// <summary>Adds <paramref name="description"/> for <paramref name="field"/> when <paramref name="condition"/> is false.</summary>
    public RequestValidator Require(bool condition, string field, string description) =>
        condition ? this : Add(field, description);

    public RequestValidator RequireNotEmpty(string? value, string field, int maxLength = 128)
    {
        if (string.IsNullOrWhiteSpace(value))
        {
            return Add(field, "must not be empty");
        }

        return Require(value.Length <= maxLength, field, $"must be at most {maxLength} characters");
    }

    /// <exception cref="RpcException">INVALID_ARGUMENT listing every violation collected.</exception>
    public void ThrowIfInvalid()
    {
        if (!IsValid)
        {
            throw RpcErrors.InvalidArgument(_violations);
        }
    }
}
