using Contoso.Retail.Inventory;
using Contoso.Retail.ServiceDefaults;

var builder = WebApplication.CreateBuilder(args);
builder.AddServiceDefaults();
builder.AddInventory();
var app = builder.Build();
app.MapDefaultEndpoints();
await app.MapInventoryAsync();
await app.RunAsync();
