namespace Contoso.Retail.Orders.Model;

/// <summary>Where an order is in its life. Stored by name, so the database reads plainly.</summary>
public enum OrderStatus
{
    /// <summary>Saved; Inventory has not (yet) confirmed the reservation.</summary>
    Pending,

    /// <summary>Stock reserved.</summary>
    Confirmed,

    /// <summary>Refused (short stock, or Inventory never confirmed); holds no stock.</summary>
    Rejected,

    /// <summary>Cancelled by the customer; its stock given back.</summary>
    Cancelled,
}
