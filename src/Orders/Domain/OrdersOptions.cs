namespace Contoso.Retail.Orders.Domain;

/// <summary>Settings from the "Orders" configuration section.</summary>
public sealed class OrdersOptions
{
    public const string Section = "Orders";

    /// <summary>How often the reconciler looks for orders Inventory never confirmed.</summary>
    public TimeSpan ReconcileInterval { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>How long an order may stay PENDING before the reconciler rejects it and releases its reservation.</summary>
    public TimeSpan PendingOrderTimeout { get; set; } = TimeSpan.FromMinutes(2);
}
