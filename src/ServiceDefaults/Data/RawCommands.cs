using System.Data.Common;

using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Storage;

namespace Contoso.Retail.ServiceDefaults.Data;

/// <summary>
/// Plain SQL on a context's connection and transaction, for the few hot statements of a group-commit unit: EF Core's
/// LINQ translation, change tracking and diagnostics were ~60% of PlaceOrder's CPU (docs/benchmarks.md).
/// </summary>
public static class RawCommands
{
    /// <summary>A command in the context's current transaction; add parameters with <see cref="With"/>.</summary>
    public static DbCommand Sql(this DbContext db, string sql)
    {
        ArgumentNullException.ThrowIfNull(db);
        var command = db.Database.GetDbConnection().CreateCommand();
        command.Transaction = db.Database.CurrentTransaction?.GetDbTransaction();
        command.CommandText = sql;
        return command;
    }

    /// <summary>Adds a parameter named as the SQL writes it, prefix included (<c>"@sku"</c>): see <see cref="ParameterName"/>.</summary>
    public static DbCommand With(this DbCommand command, string name, object? value)
    {
        ArgumentNullException.ThrowIfNull(command);
        var parameter = command.CreateParameter();
        parameter.ParameterName = ParameterName(name);
        parameter.Value = value ?? DBNull.Value;
        command.Parameters.Add(parameter);
        return command;
    }

    /// <summary>
    /// <paramref name="name"/> if it starts with the prefix the SQL uses for it (@, : or $). Microsoft.Data.Sqlite looks a
    /// name without one up under each prefix in turn, building and encoding a string for each, on every execution.
    /// </summary>
    public static string ParameterName(string name)
    {
        ArgumentException.ThrowIfNullOrEmpty(name);
        return name[0] is '@' or ':' or '$'
            ? name
            : throw new ArgumentException($"Name the parameter as the SQL does, with its prefix (\"@{name}\").", nameof(name));
    }

    /// <summary>Runs a statement and disposes it; returns the rows it changed.</summary>
    public static async Task<int> RunAsync(this DbCommand command)
    {
        ArgumentNullException.ThrowIfNull(command);
        await using (command)
        {
            return await command.ExecuteNonQueryAsync();
        }
    }

    /// <summary>"@p0, @p1, ..." for an IN list, with the values added as parameters.</summary>
    public static string InList<T>(this DbCommand command, IReadOnlyList<T> values)
    {
        ArgumentNullException.ThrowIfNull(command);
        ArgumentNullException.ThrowIfNull(values);
        var names = new string[values.Count];
        for (var i = 0; i < values.Count; i++)
        {
            names[i] = "@p" + i;
            command.With(names[i], values[i]);
        }

        return string.Join(", ", names);
    }

    /// <summary>
    /// "(@lead, @r0c0, @r0c1), (@lead, @r1c0, @r1c1), ..." for a multi-row VALUES list: one row per item, each starting with
    /// <paramref name="leading"/> (parameters already added, or empty), then the item's values, added as parameters.
    /// </summary>
    public static string ValuesList<T>(this DbCommand command, IEnumerable<T> items, Func<T, object?[]> values, string leading = "")
    {
        ArgumentNullException.ThrowIfNull(command);
        ArgumentNullException.ThrowIfNull(items);
        ArgumentNullException.ThrowIfNull(values);
        var rows = new System.Text.StringBuilder();
        var row = 0;
        foreach (var item in items)
        {
            rows.Append(row == 0 ? "(" : ", (").Append(leading);
            var columns = values(item);
            for (var column = 0; column < columns.Length; column++)
            {
                var name = $"@r{row}c{column}";
                command.With(name, columns[column]);
                rows.Append(leading.Length == 0 && column == 0 ? "" : ", ").Append(name);
            }

            rows.Append(')');
            row++;
        }

        return row == 0 ? throw new ArgumentException("A VALUES list needs at least one row.", nameof(items)) : rows.ToString();
    }
}
