using Microsoft.Extensions.Options;

namespace Contoso.Retail.ServiceDefaults;

internal sealed class GrpcClientOptionsValidator : IValidateOptions<GrpcClientOptions>
{
    public ValidateOptionsResult Validate(string? name, GrpcClientOptions options) =>
        options.Problem() is { } problem
            ? ValidateOptionsResult.Fail($"{GrpcClientOptions.Section} settings for '{name}': {problem}.")
            : ValidateOptionsResult.Success;
}
