using Microsoft.Data.Sqlite;
using Microsoft.EntityFrameworkCore;

using Npgsql;

namespace Contoso.Retail.ServiceDefaults.Data;

public static class DbErrors
{
    private const int SqliteConstraint = 19;
    private const int SqliteConstraintPrimaryKey = 1555;
    private const int SqliteConstraintUnique = 2067;

    /// <summary>True when the save failed because a row with the same key already exists (a concurrent duplicate).</summary>
    public static bool IsUniqueViolation(this DbUpdateException ex) => IsUniqueViolation(ex?.InnerException);

    /// <summary>The same, for a provider exception from plain SQL (<see cref="RawCommands"/>) or an EF Core save.</summary>
    public static bool IsUniqueViolation(this Exception? ex) => ex switch
    {
        DbUpdateException update => IsUniqueViolation(update.InnerException),
        PostgresException pg => pg.SqlState == PostgresErrorCodes.UniqueViolation,
        SqliteException sqlite => sqlite.SqliteErrorCode == SqliteConstraint
            && sqlite.SqliteExtendedErrorCode is SqliteConstraintPrimaryKey or SqliteConstraintUnique,
        _ => false,
    };
}
