using System.CommandLine;

using Contoso.Retail.Contracts.Auth;

namespace Contoso.Retail.Cli.Commands;

/// <summary>`contoso-retail token --scope inventory.read`: a development token, for grpcurl, scripts or CONTOSO_RETAIL_TOKEN.</summary>
public static class TokenCommand
{
    public const string DefaultSubject = "contoso-retail-cli";

    public static Command Build()
    {
        var scopes = new Option<string[]>("--scope")
        {
            Description = "A scope the token grants, e.g. inventory.read; repeat for more (or separate with spaces).",
            Required = true,
            AllowMultipleArgumentsPerToken = false,
        };
        var subject = new Option<string>("--subject") { Description = "The token's subject (sub).", DefaultValueFactory = _ => DefaultSubject };
        var lifetime = new Option<TimeSpan>("--lifetime")
        {
            Description = "How long the token is valid, e.g. 15m, 1h, 1d.",
            DefaultValueFactory = _ => TimeSpan.FromHours(1),
            CustomParser = Durations.ParseArgument,
        };
        var issuer = new Option<string>("--issuer")
        {
            Description = "The issuer (iss) the services expect (Auth:Issuer).",
            DefaultValueFactory = _ => DevTokens.DefaultIssuer,
        };
        var audience = new Option<string>("--audience")
        {
            Description = "The audience (aud) the services expect (Auth:Audience).",
            DefaultValueFactory = _ => DevTokens.DefaultAudience,
        };
        var command = new Command("token", "Print a development token signed with the development key (--dev-key), for services running in Development.")
        {
            scopes, subject, lifetime, issuer, audience,
        };
        command.SetHandler((context, _) =>
        {
            string token;
            try
            {
                token = DevTokens.Mint(
                    context.Get(GlobalOptions.DevKey)!, context.Get(issuer)!, context.Get(audience)!, context.Get(subject)!,
                    context.Get(scopes)!.SelectMany(s => s.Split(' ', StringSplitOptions.RemoveEmptyEntries)), context.Get(lifetime));
            }
            catch (FormatException ex)
            {
                throw new UsageException($"--dev-key: {ex.Message}");
            }

            context.Output.Token(token);
            return Task.FromResult(CliApp.Success);
        });
        return command;
    }
}
