using Contoso.Retail.ServiceDefaults;
using Contoso.Retail.TelemetryIngest;

var builder = WebApplication.CreateBuilder(args);
builder.AddServiceDefaults();
builder.AddTelemetryIngest();
var app = builder.Build();
app.MapDefaultEndpoints();
await app.MapTelemetryIngestAsync();
await app.RunAsync();
