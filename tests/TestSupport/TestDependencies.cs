using System.Diagnostics.CodeAnalysis;

namespace Contoso.Retail.TestSupport;

/// <summary>
/// What a test does when a tool or database it needs is missing: skip, naming what to install - or, with
/// REQUIRE_TEST_DEPENDENCIES=true (.ci/run and the workflow set it), fail with the same reason, so a CI run that
/// lost PostgreSQL or Chromium is red instead of quietly green with skips.
/// </summary>
public static class TestDependencies
{
    public const string RequireVariable = "REQUIRE_TEST_DEPENDENCIES";

    public static bool Required =>
        string.Equals(Environment.GetEnvironmentVariable(RequireVariable), "true", StringComparison.OrdinalIgnoreCase);

    [DoesNotReturn]
    public static void Missing(string reason) => Missing(reason, Required);

    [DoesNotReturn]
    public static void Missing(string reason, bool required)
    {
        if (required)
        {
            Assert.Fail($"{reason} ({RequireVariable}=true: a missing test dependency fails the test.)");
        }

        Assert.Skip(reason);
    }

    public static void MissingUnless([DoesNotReturnIf(false)] bool condition, string reason)
    {
        if (!condition)
        {
            Missing(reason);
        }
    }
}
