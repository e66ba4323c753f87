using Contoso.Retail.Orders;
using Contoso.Retail.ServiceDefaults;

var builder = WebApplication.CreateBuilder(args);
builder.AddServiceDefaults();
builder.AddOrders();
var app = builder.Build();
app.MapDefaultEndpoints();
await app.MapOrdersAsync();
await app.RunAsync();
