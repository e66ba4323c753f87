using Contoso.Retail.Contracts.Inventory.V1;
using Contoso.Retail.Contracts.Orders.V1;
using Contoso.Retail.ServiceDefaults.Errors;

namespace Contoso.Retail.Orders.Grpc;

/// <summary>Checks requests before they reach the domain; every violation is reported at once, by field path.</summary>
public static class OrderValidation
{
    public const int MaxIdLength = 128;
    public const int MaxLines = 100;
    public const int MaxReasonLength = 512;

    /// <summary>Throws INVALID_ARGUMENT with google.rpc.BadRequest field violations unless the request is valid.</summary>
    public static void Validate(PlaceOrderRequest request)
    {
        ArgumentNullException.ThrowIfNull(request);
        var validator = new RequestValidator()
            .RequireNotEmpty(request.RequestId, "request_id", MaxIdLength)
            .RequireNotEmpty(request.CustomerId, "customer_id", MaxIdLength);

        if (request.Lines.Count == 0)
        {
            validator.Add("lines", "must contain at least one line");
        }
        else if (request.Lines.Count > MaxLines)
        {
            validator.Add("lines", $"must contain at most {MaxLines} lines");
        }
        else
        {
            var seen = new HashSet<string>(StringComparer.Ordinal);
            for (var i = 0; i < request.Lines.Count; i++)
            {
                var line = request.Lines[i];
                if (Sku.Problem(line.Sku) is { } problem)
                {
                    validator.Add($"lines[{i}].sku", problem);
                }
                else if (!seen.Add(line.Sku))
                {
                    validator.Add($"lines[{i}].sku", $"'{line.Sku}' appears more than once; each SKU may appear once");
                }

                validator.Require(line.Quantity > 0, $"lines[{i}].quantity", "must be greater than 0");
            }
        }

        validator.ThrowIfInvalid();
    }

    public static void Validate(GetOrderRequest request)
    {
        ArgumentNullException.ThrowIfNull(request);
        new RequestValidator().RequireNotEmpty(request.OrderId, "order_id", MaxIdLength).ThrowIfInvalid();
    }

    public static void Validate(ListOrdersRequest request)
    {
        ArgumentNullException.ThrowIfNull(request);
        new RequestValidator().RequireNotEmpty(request.CustomerId, "customer_id", MaxIdLength).ThrowIfInvalid();
    }

    public static void Validate(CancelOrderRequest request)
    {
        ArgumentNullException.ThrowIfNull(request);
        new RequestValidator()
            .RequireNotEmpty(request.OrderId, "order_id", MaxIdLength)
            .Require(request.Reason.Length <= MaxReasonLength, "reason", $"must be at most {MaxReasonLength} characters")
            .ThrowIfInvalid();
    }
}
