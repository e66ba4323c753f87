namespace Contoso.Retail.Orders.Model;

public sealed class OrderLine
{
    public required string OrderId { get; set; }

    public required string Sku { get; set; }

    public int Quantity { get; set; }
}
