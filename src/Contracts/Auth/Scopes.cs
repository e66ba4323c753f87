namespace Contoso.Retail.Contracts.Auth;

/// <summary>Scopes that no single method requires (so no proto option names them) but that widen what a caller may do.</summary>
public static class Scopes
{
    /// <summary>
    /// Lets a caller act for every customer in orders.v1.OrderService (back office, operators, other services).
    /// Without it, a token acts only for the customer its subject ("sub") names.
    /// </summary>
    public const string OrdersAdmin = "orders.admin";
}
