namespace Contoso.Retail.ServiceDefaults;

/// <summary>Settings for server-to-server gRPC clients: section "GrpcClients", overridable per downstream under "GrpcClients:{name}".</summary>
public sealed class GrpcClientOptions
{
    public const string Section = "GrpcClients";

    public static readonly TimeSpan DefaultDnsRefreshInterval = TimeSpan.FromSeconds(15);

    /// <summary>Deadline for a call whose caller set none (background work, an incoming call without a deadline).</summary>
    public TimeSpan DefaultDeadline { get; set; } = TimeSpan.FromSeconds(5);

    /// <summary>For dns:/// and static:/// targets: TLS instead of cleartext HTTP/2 (http/https URLs say it themselves).</summary>
    public bool UseTls { get; set; }

    /// <summary>
    /// How often dns:/// targets are re-resolved, so new replicas get calls. Read from "GrpcClients" only (one
    /// resolver serves every downstream); a failed connection triggers a re-resolve sooner.
    /// </summary>
    public TimeSpan DnsRefreshInterval { get; set; } = DefaultDnsRefreshInterval;

    /// <summary>
    /// Wait before reconnecting to an address whose connection attempt failed; calls to it fail fast with UNAVAILABLE
    /// meanwhile. Short (the library's 1 s outlasts the retries' backoff), so one bad connection does not fail calls
    /// that a retry a moment later would have got through.
    /// </summary>
    public TimeSpan InitialReconnectBackoff { get; set; } = TimeSpan.FromMilliseconds(200);

    /// <summary>Cap on the reconnect wait as failures repeat (the library's 2 minutes is for clients far from their servers).</summary>
    public TimeSpan MaxReconnectBackoff { get; set; } = TimeSpan.FromSeconds(5);

    public GrpcRetryOptions Retry { get; set; } = new();

    public GrpcCircuitBreakerOptions CircuitBreaker { get; set; } = new();

    /// <summary>What is wrong with these settings, or null.</summary>
    internal string? Problem() =>
        this switch
        {
            { DefaultDeadline.Ticks: <= 0 } => "DefaultDeadline must be positive",
            { DnsRefreshInterval.Ticks: <= 0 } => "DnsRefreshInterval must be positive",
            { InitialReconnectBackoff.Ticks: <= 0 } or { MaxReconnectBackoff.Ticks: <= 0 } => "Reconnect backoffs must be positive",
            { Retry.MaxAttempts: < 1 } => "Retry:MaxAttempts must be at least 1 (1 = no retries)",
            { Retry.BaseDelay.Ticks: < 0 } or { Retry.MaxDelay.Ticks: < 0 } => "Retry delays must not be negative",
            { CircuitBreaker.FailureRatio: <= 0 or > 1 } => "CircuitBreaker:FailureRatio must be in (0, 1]",
            { CircuitBreaker.MinimumThroughput: < 2 } => "CircuitBreaker:MinimumThroughput must be at least 2",
            _ when CircuitBreaker.SamplingDuration < TimeSpan.FromMilliseconds(500)
                || CircuitBreaker.BreakDuration < TimeSpan.FromMilliseconds(500) => "CircuitBreaker durations must be at least 0.5 s",
            _ => null,
        };
}

/// <summary>Section "GrpcClients:Retry". Only methods the contract marks IDEMPOTENT or NO_SIDE_EFFECTS are retried.</summary>
public sealed class GrpcRetryOptions
{
    /// <summary>Attempts in all, the first included; 1 turns retries off.</summary>
    public int MaxAttempts { get; set; } = 4;

    /// <summary>Backoff before the first retry (jittered, doubling per retry).</summary>
    public TimeSpan BaseDelay { get; set; } = TimeSpan.FromMilliseconds(100);

    /// <summary>Cap on one backoff (a server's grpc-retry-pushback-ms is honoured exactly, not capped).</summary>
    public TimeSpan MaxDelay { get; set; } = TimeSpan.FromSeconds(2);
}

/// <summary>Section "GrpcClients:CircuitBreaker": one breaker per downstream, counting UNAVAILABLE attempts.</summary>
public sealed class GrpcCircuitBreakerOptions
{
    /// <summary>Share of attempts that were UNAVAILABLE, within <see cref="SamplingDuration"/>, that opens the circuit.</summary>
    public double FailureRatio { get; set; } = 0.5;

    /// <summary>Attempts within <see cref="SamplingDuration"/> before the ratio counts at all.</summary>
    public int MinimumThroughput { get; set; } = 10;

    public TimeSpan SamplingDuration { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>How long calls fail fast with UNAVAILABLE before one probe call is let through.</summary>
    public TimeSpan BreakDuration { get; set; } = TimeSpan.FromSeconds(5);
}
