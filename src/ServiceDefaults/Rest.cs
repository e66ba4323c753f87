using System.Reflection;

using Contoso.Retail.Contracts;

using Google.Protobuf.Reflection;
using Google.Rpc;

using Grpc.AspNetCore.Server;

using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.OpenApi.Models;

namespace Contoso.Retail.ServiceDefaults;

/// <summary>Rest:Enabled (default true): the HTTP routes of the protos' google.api.http rules and the OpenAPI document.</summary>
public sealed record RestSettings(bool Enabled);

/// <summary>
/// REST/JSON from the same protos (gRPC JSON transcoding): each method with a google.api.http rule is also an HTTP
/// route, through the same interceptors (auth, logging, tracing, errors). Errors answer the HTTP status of their gRPC
/// code with a google.rpc.Status JSON body. The OpenAPI document is at <see cref="DocumentPath"/>.
/// </summary>
public static class Rest
{
    public const string DocumentPath = "/openapi/v1.json";

    private const string BearerScheme = "Bearer";

    /// <summary>Registers transcoding on the gRPC server being built; called by AddDefaultGrpc before it takes over method binding.</summary>
    internal static void AddDefaultRest(IHostApplicationBuilder builder, IGrpcServerBuilder grpc)
    {
        var settings = new RestSettings(builder.Configuration.GetValue("Rest:Enabled", true));
        builder.Services.AddSingleton(settings);
        if (!settings.Enabled)
        {
            return;
        }

        // The rich error details (google.rpc.BadRequest, PreconditionFailure...) must be known to be written as JSON.
        grpc.AddJsonTranscoding(options => options.TypeRegistry = TypeRegistry.FromFiles(ErrorDetailsReflection.Descriptor));
        builder.Services.AddGrpcSwagger();
        builder.Services.AddSwaggerGen(options =>
        {
            var name = builder.Environment.ApplicationName;
            options.SwaggerDoc("v1", new OpenApiInfo { Title = name, Version = "v1" });

            // The proto comments, compiled into the contracts' XML docs, become the operations' descriptions.
            var contracts = Path.ChangeExtension(typeof(ContractMethods).Assembly.Location, ".xml");
            if (File.Exists(contracts))
            {
                options.IncludeXmlComments(contracts);
                options.IncludeGrpcXmlComments(contracts, includeControllerXmlComments: true);
            }

            options.AddSecurityDefinition(BearerScheme, new OpenApiSecurityScheme
            {
                Type = SecuritySchemeType.Http,
                Scheme = "bearer",
                BearerFormat = "JWT",
                Description = "A token carrying the scope the operation needs (options.v1.required_scope in the proto).",
            });
            options.AddSecurityRequirement(new OpenApiSecurityRequirement
            {
                [new OpenApiSecurityScheme { Reference = new OpenApiReference { Type = ReferenceType.SecurityScheme, Id = BearerScheme } }] = [],
            });
        });
    }

    /// <summary>The OpenAPI document (anonymous, like health); a Swagger UI page at /openapi in Development only.</summary>
    public static WebApplication MapDefaultRestEndpoints(this WebApplication app)
    {
        if (!app.Services.GetRequiredService<RestSettings>().Enabled)
        {
            return app;
        }

        // An endpoint, not UseSwagger's middleware: that one ran on every request, gRPC calls included, and resolved
        // the document generator for each (Swashbuckle registers it transient); the first request, usually the first
        // readiness probe, also parsed the XML comments. Now only a request for the document builds it.
        app.MapSwagger("/openapi/{documentName}.json");
        if (app.Environment.IsDevelopment())
        {
            app.UseSwaggerUI(options =>
            {
                options.RoutePrefix = "openapi";
                options.SwaggerEndpoint(DocumentPath, Assembly.GetEntryAssembly()?.GetName().Name ?? "v1");
            });
        }

        return app;
    }
}
