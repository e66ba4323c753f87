using Contoso.Retail.Contracts.Auth;
using Contoso.Retail.ServiceDefaults.Data;
using Contoso.Retail.ServiceDefaults.Tests.TestService;
using Contoso.Retail.ServiceDefaults.Tests.TestService.Notes.V1;
using Contoso.Retail.TestSupport;

using Grpc.Core;
using Grpc.Health.V1;
using Grpc.Net.Client;

using Microsoft.Extensions.DependencyInjection;

namespace Contoso.Retail.ServiceDefaults.Tests.Auth;

/// <summary>
/// The auth rules every service shares, on the test service: a scope from the proto's method option, anonymous
/// health, fail-closed for methods without a scope, startup refusing unsafe or missing configuration.
/// </summary>
public class AuthTests
{
    private static CancellationToken Ct => NotesHost.Ct;

    [Theory]
    [MemberData(nameof(AuthCases.Unauthenticated), MemberType = typeof(AuthCases))]
    public async Task SaveNote_with_unacceptable_credentials_is_unauthenticated_and_saves_nothing(string credentials)
    {
        await using var db = await TestDatabase.CreateAsync(DatabaseProvider.Sqlite);
        await using var host = await NotesHost.StartAsync(db.Settings("Notes"));
        using var channel = host.Service.CreateChannel(token: null);
        var headers = AuthCases.Headers(host.Service, credentials, "notes.write");

        var ex = await Assert.ThrowsAsync<RpcException>(() => SaveAsync(channel, headers));

        AuthCases.AssertUnauthenticated(ex, headers);
        Assert.Empty((await host.Client.ListNotesAsync(new ListNotesRequest(), cancellationToken: Ct)).Notes);
    }

    [Fact]
    public async Task A_token_lacking_the_scope_the_proto_declares_is_permission_denied_naming_the_scope()
    {
        await using var db = await TestDatabase.CreateAsync(DatabaseProvider.Sqlite);
        await using var host = await NotesHost.StartAsync(db.Settings("Notes"));
        using var channel = host.Service.CreateChannel(host.Service.MintToken(["notes.read"]));

        var ex = await Assert.ThrowsAsync<RpcException>(() => SaveAsync(channel));

        AuthCases.AssertPermissionDenied(ex, "notes.write");
        Assert.Empty((await host.Client.ListNotesAsync(new ListNotesRequest(), cancellationToken: Ct)).Notes);
    }

    [Fact]
    public async Task A_token_with_just_the_scope_the_proto_declares_is_served()
    {
        await using var db = await TestDatabase.CreateAsync(DatabaseProvider.Sqlite);
        await using var host = await NotesHost.StartAsync(db.Settings("Notes"));
        using var channel = host.Service.CreateChannel(host.Service.MintToken(["notes.write"]));

        var saved = await SaveAsync(channel);

        Assert.Equal("n-1", saved.Note.Id);
    }

    [Fact]
    public async Task Scopes_are_read_from_an_scp_array_claim_too()
    {
        await using var db = await TestDatabase.CreateAsync(DatabaseProvider.Sqlite);
        await using var host = await NotesHost.StartAsync(db.Settings("Notes"));
        var token = new Microsoft.IdentityModel.JsonWebTokens.JsonWebTokenHandler().CreateToken(new Microsoft.IdentityModel.Tokens.SecurityTokenDescriptor
        {
            Issuer = DevTokens.DefaultIssuer,
            Audience = DevTokens.DefaultAudience,
            Expires = DateTime.UtcNow.AddMinutes(5),
            Claims = new Dictionary<string, object> { ["sub"] = "entra-style", ["scp"] = new[] { "notes.read", "notes.write" } },
            SigningCredentials = new(DevTokens.SigningKey(DevTokens.DevelopmentKey), DevTokens.Algorithm),
        });
        using var channel = host.Service.CreateChannel(token);

        var saved = await SaveAsync(channel);

        Assert.Equal("n-1", saved.Note.Id);
    }

    [Fact]
    public async Task Health_check_needs_no_token()
    {
        await using var db = await TestDatabase.CreateAsync(DatabaseProvider.Sqlite);
        await using var host = await NotesHost.StartAsync(db.Settings("Notes"));
        using var channel = host.Service.CreateChannel(token: null);

        var health = await new global::Grpc.Health.V1.Health.HealthClient(channel).CheckAsync(new HealthCheckRequest(), cancellationToken: Ct);

        Assert.Equal(HealthCheckResponse.Types.ServingStatus.Serving, health.Status);
    }

    [Fact]
    public async Task A_method_that_declares_no_scope_is_permission_denied_even_with_every_scope()
    {
        await using var db = await TestDatabase.CreateAsync(DatabaseProvider.Sqlite);
        await using var host = await NotesHost.StartAsync(db.Settings("Notes"));

        var ex = await Assert.ThrowsAsync<RpcException>(() => host.Client.UnscopedAsync(new UnscopedRequest(), cancellationToken: Ct).ResponseAsync);

        Assert.Equal(StatusCode.PermissionDenied, ex.StatusCode);
        Assert.Contains("declares no required scope", ex.Status.Detail, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Production_refuses_to_start_with_the_development_key()
    {
        await using var db = await TestDatabase.CreateAsync(DatabaseProvider.Sqlite);
        var ex = await Assert.ThrowsAsync<InvalidOperationException>(() =>
            StartInAsync(db, "Production", new() { ["Auth:DevSigningKey"] = DevTokens.DevelopmentKey }));

        Assert.Contains("Auth:DevSigningKey is configured in the Production environment", ex.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("Staging")]
    [InlineData("Demo")]
    public async Task Environments_other_than_Development_and_Test_refuse_the_development_key(string environment)
    {
        await using var db = await TestDatabase.CreateAsync(DatabaseProvider.Sqlite);
        var ex = await Assert.ThrowsAsync<InvalidOperationException>(() =>
            StartInAsync(db, environment, new() { ["Auth:DevSigningKey"] = DevTokens.DevelopmentKey }));

        Assert.Contains($"Auth:DevSigningKey is configured in the {environment} environment", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Production_refuses_any_development_key_even_alongside_an_authority()
    {
        await using var db = await TestDatabase.CreateAsync(DatabaseProvider.Sqlite);
        var ex = await Assert.ThrowsAsync<InvalidOperationException>(() => StartInAsync(db, "Production", new()
        {
            ["Auth:DevSigningKey"] = Convert.ToBase64String(new byte[48]),
            ["Auth:Authority"] = "https://login.example.com/tenant/",
        }));

        Assert.Contains("Production", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Production_with_an_authority_and_no_development_key_starts()
    {
        await using var db = await TestDatabase.CreateAsync(DatabaseProvider.Sqlite);
        await using var host = await StartInAsync(db, "Production", new() { ["Auth:Authority"] = "https://login.example.com/tenant/" });

        var options = host.Service.Services.GetRequiredService<AuthOptions>();
        Assert.Equal(("https://login.example.com/tenant/", null), (options.Authority, options.DevSigningKey));
    }

    [Theory]
    [InlineData(null, null, "Auth is not configured")]
    [InlineData("Y29udG9zby1yZXRhaWwtREVWRUxPUE1FTlQtT05MWS1zaWduaW5nLWtleS1uZXZlci1pbi1wcm9k", "https://login.example.com/", "both configured")]
    [InlineData("c2hvcnQta2V5", null, "at least 32 bytes")]
    [InlineData("not base64!", null, "must be base64")]
    [InlineData(null, "not-a-url", "absolute URL")]
    public async Task Startup_fails_with_a_clear_message_when_auth_is_misconfigured(string? devKey, string? authority, string message)
    {
        await using var db = await TestDatabase.CreateAsync(DatabaseProvider.Sqlite);
        var ex = await Assert.ThrowsAsync<InvalidOperationException>(() =>
            StartInAsync(db, "Development", new() { ["Auth:DevSigningKey"] = devKey, ["Auth:Authority"] = authority }));

        Assert.Contains(message, ex.Message, StringComparison.Ordinal);
    }

    /// <summary>The test service in <paramref name="environment"/> with these Auth settings (the harness adds no key then).</summary>
    private static Task<NotesHost> StartInAsync(TestDatabase db, string environment, Dictionary<string, string?> auth)
    {
        var settings = new Dictionary<string, string?>(db.Settings("Notes").Concat(auth)) { ["Shutdown:DrainDelay"] = "00:00:00" };
        return NotesHost.StartAsync(settings, builder => builder.Environment.EnvironmentName = environment);
    }

    private static Task<SaveNoteResponse> SaveAsync(GrpcChannel channel, Metadata? headers = null) =>
        new NoteService.NoteServiceClient(channel).SaveNoteAsync(
            new SaveNoteRequest { Note = new Note { Id = "n-1", Text = "a note" } }, headers, cancellationToken: Ct).ResponseAsync;
}
