using System.Collections.Frozen;
using System.Reflection;

using Contoso.Retail.Contracts.Options.V1;

using Google.Protobuf.Reflection;

namespace Contoso.Retail.Contracts;

/// <summary>
/// Every RPC the contracts declare, by gRPC path ("/inventory.v1.InventoryService/ReserveStock"), with what its
/// proto says about it: the scope it requires, its idempotency level. Built once from the compiled descriptors
/// in Contracts, so a new proto is picked up without a list to update, and in the entry assembly, so a host that
/// compiles a proto of its own (the test service in ServiceDefaults.Tests) is held to it the same way.
/// </summary>
public static class ContractMethods
{
    private static readonly FrozenDictionary<string, MethodDescriptor> ByPath =
        new[] { typeof(OptionsReflection).Assembly, Assembly.GetEntryAssembly() }
        .OfType<Assembly>()
        .Distinct()
        .SelectMany(LoadableTypes)
        .Select(type => type.GetProperty("Descriptor", BindingFlags.Public | BindingFlags.Static))
        .Where(property => property?.PropertyType == typeof(FileDescriptor))
        .Select(property => (FileDescriptor)property!.GetValue(null)!)
        .SelectMany(file => file.Services)
        .SelectMany(service => service.Methods)
        .ToFrozenDictionary(Path, StringComparer.Ordinal);

    // GetOptions() clones the options message; the auth interceptor asks on every call.
    private static readonly FrozenDictionary<string, string> ScopesByPath = ByPath
        .Select(entry => (entry.Key, Scope: RequiredScope(entry.Value)))
        .Where(entry => entry.Scope is not null)
        .ToFrozenDictionary(entry => entry.Key, entry => entry.Scope!, StringComparer.Ordinal);

    /// <summary>Every contract method, e.g. for listing the scopes that exist.</summary>
    public static IEnumerable<MethodDescriptor> All => ByPath.Values;

    /// <summary>The gRPC path of a method: "/" + service full name + "/" + method name.</summary>
    public static string Path(MethodDescriptor method)
    {
        ArgumentNullException.ThrowIfNull(method);
        return $"/{method.Service.FullName}/{method.Name}";
    }

    /// <summary>The method at a gRPC path (ServerCallContext.Method, or "/" + Method.FullName on a client); null when no contract declares it.</summary>
    public static MethodDescriptor? Find(string path) => ByPath.GetValueOrDefault(path);

    /// <summary>The scope (options.v1.required_scope) a method declares; null when it declares none.</summary>
    public static string? RequiredScope(MethodDescriptor method)
    {
        ArgumentNullException.ThrowIfNull(method);
        return method.GetOptions()?.GetExtension(OptionsExtensions.RequiredScope) is { Length: > 0 } scope ? scope : null;
    }

    /// <summary>The scope the method at <paramref name="path"/> declares; null for an unknown method or one without a scope.</summary>
    public static string? RequiredScope(string path) => ScopesByPath.GetValueOrDefault(path);

    /// <summary>Every scope some method requires, sorted.</summary>
    public static IReadOnlyList<string> AllScopes() =>
        [.. ScopesByPath.Values.Distinct(StringComparer.Ordinal).Order(StringComparer.Ordinal)];

    // An entry assembly may hold types whose dependencies are not deployed (compile-time only); those cannot be descriptors.
    private static IEnumerable<Type> LoadableTypes(Assembly assembly)
    {
        try
        {
            return assembly.GetTypes();
        }
        catch (ReflectionTypeLoadException ex)
        {
            return ex.Types.OfType<Type>();
        }
    }
}
