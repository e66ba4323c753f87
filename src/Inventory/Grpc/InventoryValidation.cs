using Contoso.Retail.Contracts.Inventory.V1;
using Contoso.Retail.Inventory.Model;
using Contoso.Retail.ServiceDefaults.Errors;

namespace Contoso.Retail.Inventory.Grpc;

/// <summary>
/// Checks each request against the contract and reports every bad field at once
/// (INVALID_ARGUMENT with google.rpc.BadRequest, field names as in the proto: <c>lines[1].quantity</c>).
/// </summary>
public static class InventoryValidation
{
    public const int DefaultPageSize = 100;
    public const int MaxPageSize = 1000;

    public static void Validate(GetItemRequest request) =>
        new RequestValidator().RequireSku(request.Sku, "sku").ThrowIfInvalid();

    public static void Validate(UpsertItemRequest request) =>
        new RequestValidator()
            .RequireSku(request.Sku, "sku")
            .RequireNotEmpty(request.Name, "name", Model.Item.MaxNameLength)
            .Require(request.Available >= 0, "available", "must be 0 or more")
            .ThrowIfInvalid();

    public static void Validate(ReserveStockRequest request)
    {
        var validator = new RequestValidator()
            .RequireNotEmpty(request.ReservationId, "reservation_id", Reservation.MaxIdLength)
            .Require(request.Lines.Count > 0, "lines", "must contain at least one line");

        var firstLineOfSku = new Dictionary<string, int>(StringComparer.Ordinal);
        for (var i = 0; i < request.Lines.Count; i++)
        {
            var line = request.Lines[i];
            validator
                .RequireSku(line.Sku, $"lines[{i}].sku")
                .Require(line.Quantity > 0, $"lines[{i}].quantity", "must be greater than 0");
            if (!firstLineOfSku.TryAdd(line.Sku, i))
            {
                validator.Add($"lines[{i}].sku", $"repeats the SKU of lines[{firstLineOfSku[line.Sku]}]; each SKU may appear once");
            }
        }

        validator.ThrowIfInvalid();
    }

    public static void Validate(ReleaseReservationRequest request) =>
        new RequestValidator().RequireNotEmpty(request.ReservationId, "reservation_id", Reservation.MaxIdLength).ThrowIfInvalid();

    public static void Validate(WatchStockRequest request)
    {
        var validator = new RequestValidator();
        for (var i = 0; i < request.Skus.Count; i++)
        {
            validator.RequireSku(request.Skus[i], $"skus[{i}]");
        }

        validator.ThrowIfInvalid();
    }

    /// <returns>The page size to use and the SKU after which the page starts (null for the first page).</returns>
    public static (int PageSize, string? AfterSku) Validate(ListItemsRequest request) =>
        (PageToken.Size(request.PageSize, DefaultPageSize, MaxPageSize), PageToken.Decode(request.PageToken));

    private static RequestValidator RequireSku(this RequestValidator validator, string sku, string field) =>
        Sku.Problem(sku) is { } problem ? validator.Add(field, problem) : validator;
}
