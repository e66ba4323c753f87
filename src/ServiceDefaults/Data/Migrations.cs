using System.Reflection;

using Microsoft.EntityFrameworkCore.Infrastructure;
using Microsoft.EntityFrameworkCore.Migrations;

namespace Contoso.Retail.ServiceDefaults.Data;

/// <summary>Which migrations a database still lacks, found without building EF Core's model.</summary>
internal static class Migrations
{
    private const string AppliedSql = "SELECT \"MigrationId\" FROM \"__EFMigrationsHistory\"";

    /// <summary>True when the provider context's migrations are not all in the history table (or it cannot be read).</summary>
    public static async Task<bool> PendingAsync(DatabaseSettings settings, ReadConnections reads, CancellationToken cancellationToken)
    {
        if (settings.ContextType is null)
        {
            return true;
        }

        HashSet<string> applied;
        try
        {
            applied = await reads.ReadAsync("SELECT __EFMigrationsHistory", 0, static async (connection, _, cancellationToken) =>
            {
                var ids = new HashSet<string>(StringComparer.Ordinal);
                await using var reader = await connection.ExecuteReaderAsync(connection.Command(AppliedSql), cancellationToken);
                while (await reader.ReadAsync(cancellationToken))
                {
                    ids.Add(reader.GetString(0));
                }

                return ids;
            }, cancellationToken);
        }
        catch (Exception ex) when (ex is System.Data.Common.DbException)
        {
            // No history table (or no database) yet: MigrateAsync creates them.
            return true;
        }

        return Defined(settings.ContextType).Any(id => !applied.Contains(id));
    }

    // The ids EF Core's migrations assembly would find: [Migration] classes attributed to this context.
    private static IEnumerable<string> Defined(Type contextType) =>
        from type in contextType.Assembly.GetTypes()
        where type.IsSubclassOf(typeof(Migration)) && type.GetCustomAttribute<DbContextAttribute>()?.ContextType == contextType
        let id = type.GetCustomAttribute<MigrationAttribute>()?.Id
        where id is not null
        select id;
}
