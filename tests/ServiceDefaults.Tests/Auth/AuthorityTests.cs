using System.Security.Cryptography;

using Contoso.Retail.ServiceDefaults.Data;
using Contoso.Retail.ServiceDefaults.Tests.TestService;
using Contoso.Retail.ServiceDefaults.Tests.TestService.Notes.V1;
using Contoso.Retail.TestSupport;

using Grpc.Core;

using Microsoft.Extensions.DependencyInjection;

namespace Contoso.Retail.ServiceDefaults.Tests.Auth;

/// <summary>
/// The production setup: a service trusts an OIDC authority (keys from its discovery document) instead of a
/// development key, and gets its own token by OAuth2 client credentials.
/// </summary>
public class AuthorityTests
{
    private static CancellationToken Ct => NotesHost.Ct;

    [Fact]
    public async Task A_token_signed_by_the_authority_is_accepted()
    {
        await using var idp = await FakeIdentityProvider.StartAsync();
        await using var notes = await StartAsync(idp);

        var note = await SaveAsync(notes, idp.Mint("alice", ["notes.write"]));

        Assert.Equal(("au-1", "from the authority"), (note.Id, note.Text));
    }

    [Fact]
    public async Task Tokens_from_another_key_another_issuer_or_with_the_public_key_as_hmac_secret_are_unauthenticated()
    {
        await using var idp = await FakeIdentityProvider.StartAsync();
        await using var notes = await StartAsync(idp);
        using var otherKey = RSA.Create(2048);

        string[] tokens =
        [
            idp.Mint("mallory", ["notes.write"], signingKey: otherKey),
            idp.Mint("mallory", ["notes.write"], issuer: "http://evil.test"),
            idp.MintWithPublicKeyAsHmacSecret("mallory", ["notes.write"]),
        ];

        foreach (var token in tokens)
        {
            var ex = await Assert.ThrowsAsync<RpcException>(() => SaveAsync(notes, token));
            AuthCases.AssertUnauthenticated(ex, AuthCases.Bearer(token));
        }
    }

    [Fact]
    public async Task A_service_gets_its_own_token_by_client_credentials_once_and_the_authority_s_token_is_accepted()
    {
        await using var idp = await FakeIdentityProvider.StartAsync();
        await using var notes = await StartAsync(idp, new()
        {
            ["Auth:ClientId"] = FakeIdentityProvider.ClientId,
            ["Auth:ClientSecret"] = FakeIdentityProvider.ClientSecret,
            ["Auth:ServiceScopes"] = "notes.write",
        });
        var tokens = notes.Services.GetRequiredService<ServiceTokens>();

        var first = await tokens.GetAsync("ignored: Auth:ServiceScopes wins", Ct);
        var second = await tokens.GetAsync(null, Ct);
        var note = await SaveAsync(notes, first);

        Assert.Equal(first, second);
        Assert.Equal(1, idp.TokensIssued);
        Assert.Equal("au-1", note.Id);
    }

    [Fact]
    public async Task Wrong_client_credentials_fail_the_call_instead_of_sending_no_token()
    {
        await using var idp = await FakeIdentityProvider.StartAsync();
        await using var notes = await StartAsync(idp, new()
        {
            ["Auth:ClientId"] = FakeIdentityProvider.ClientId,
            ["Auth:ClientSecret"] = "wrong",
        });
        var tokens = notes.Services.GetRequiredService<ServiceTokens>();

        var ex = await Assert.ThrowsAsync<RpcException>(async () => await tokens.GetAsync("notes.read", Ct));

        Assert.Equal(StatusCode.Unavailable, ex.StatusCode);
        Assert.Contains("refused this service's client credentials (401)", ex.Status.Detail, StringComparison.Ordinal);
    }

    private static async Task<RunningService> StartAsync(FakeIdentityProvider idp, Dictionary<string, string?>? extra = null)
    {
        var db = await TestDatabase.CreateAsync(DatabaseProvider.Sqlite);
        var settings = db.Settings("Notes");
        foreach (var (key, value) in idp.AuthoritySettings().Concat(extra ?? []))
        {
            settings[key] = value;
        }

        return await ServiceHosts.StartServiceAsync(
            new() { Transport = Transport.InMemory, Settings = settings, Configure = idp.ServeMetadataTo, DefaultEndpoints = false },
            builder => builder.AddNotes(),
            app => app.MapNotesAsync());
    }

    private static async Task<Note> SaveAsync(RunningService notes, string token)
    {
        using var channel = notes.CreateChannel(token);
        var response = await new NoteService.NoteServiceClient(channel).SaveNoteAsync(
            new SaveNoteRequest { Note = new Note { Id = "au-1", Text = "from the authority" } }, cancellationToken: Ct);
        return response.Note;
    }
}
