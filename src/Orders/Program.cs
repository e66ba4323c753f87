using Contoso.Retail.Orders;
using Contoso.Retail.ServiceDefaults;

var builder = WebApplication.CreateBuilder(args);
builder.AddServiceDefaults();
builder.AddOrders();
var app = builder.Build();
app.MapDefaultEndpoints();
await app.UseOrdersAsync();
await app.RunAsync();
