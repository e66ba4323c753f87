using System.Buffers.Binary;

using Contoso.Retail.Contracts.Inventory.V1;
using Contoso.Retail.LoadGen;

using Grpc.Core;

namespace Contoso.Retail.Bench.Tests;

public sealed class LoadGenTests
{
    [Fact]
    public void Run_options_are_parsed_with_durations_and_defaults()
    {
        var args = Arguments.Parse(["run", "--scenario", "get-item", "--concurrency", "8", "--connections=2", "--warmup", "500ms", "--duration", "2m", "--rate", "150.5", "--no-progress"]);

        var options = LoadOptions.From(args);

        Assert.Equal("run", args.Command);
        Assert.Equal(("get-item", "get-item", 8, 2), (options.Scenario, options.Label, options.Concurrency, options.Connections));
        Assert.Equal((TimeSpan.FromMilliseconds(500), TimeSpan.FromMinutes(2)), (options.Warmup, options.Duration));
        Assert.Equal(150.5, options.Rate);
        Assert.False(options.Progress);
        Assert.Equal("http://127.0.0.1:5101", options.Target);
    }

    [Fact]
    public void A_misspelt_option_is_refused_by_name()
    {
        var args = Arguments.Parse(["run", "--scenario", "get-item", "--concurency", "8"]);
        _ = LoadOptions.From(args);

        var error = Assert.Throws<ArgumentException>(args.ThrowIfUnknown);

        Assert.Contains("--concurency", error.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("--duration", "ten")]
    [InlineData("--concurrency", "0")]
    [InlineData("--rate", "-5")]
    public void Bad_values_are_refused(string option, string value)
    {
        var args = Arguments.Parse(["run", "--scenario", "get-item", option, value]);

        Assert.Throws<ArgumentException>(() => LoadOptions.From(args));
    }

    [Fact]
    public async Task A_request_count_run_records_every_call_and_counts_failures_by_status_code()
    {
        var options = LoadOptions.From(Arguments.Parse(["run", "--scenario", "fake", "--concurrency", "4", "--warmup", "0s", "--requests", "200", "--no-progress"]));
        await using var scenario = new FakeScenario(failEvery: 10);

        var result = await LoadRunner.RunAsync(options, scenario, TextWriter.Null, TestContext.Current.CancellationToken);

        Assert.Equal(200, result.Ok + result.Failed);
        Assert.Equal(20, result.Failed);
        Assert.Equal(new Dictionary<string, long> { ["Unavailable"] = 20 }, result.Errors);
        Assert.Equal(result.Ok * 3, result.Items);
        Assert.InRange(result.LatencyMs.P50, 0.5, 1000);
        Assert.True(result.LatencyMs.P50 <= result.LatencyMs.P99 && result.LatencyMs.P99 <= result.LatencyMs.Max);
    }

    [Fact]
    public async Task Results_round_trip_through_json_and_render_as_a_markdown_row()
    {
        var options = LoadOptions.From(Arguments.Parse(["run", "--scenario", "fake", "--label", "smoke", "--concurrency", "2", "--warmup", "0s", "--requests", "20", "--no-progress"]));
        await using var scenario = new FakeScenario(failEvery: 0);
        var result = await LoadRunner.RunAsync(options, scenario, TextWriter.Null, TestContext.Current.CancellationToken);

        var json = RunResult.FromJson(result.ToJson());
        var markdown = result.ToMarkdown().Split('\n');

        Assert.Equal((20L, "smoke", result.LatencyMs.P99), (json.Ok, json.Label, json.LatencyMs.P99));
        Assert.StartsWith("| run | load |", markdown[0], StringComparison.Ordinal);
        Assert.StartsWith("| smoke | closed loop | 1 x 2 | ", markdown[2], StringComparison.Ordinal);
    }

    [Fact]
    public void The_h2load_body_is_one_length_prefixed_grpc_message()
    {
        var frame = Commands.GrpcFrame(new GetItemRequest { Sku = "KB-001" });

        Assert.Equal(0, frame[0]);
        Assert.Equal((uint)frame.Length - 5, BinaryPrimitives.ReadUInt32BigEndian(frame.AsSpan(1)));
        Assert.Equal("KB-001", GetItemRequest.Parser.ParseFrom(frame.AsSpan(5)).Sku);
    }

    /// <summary>Operations that take about a millisecond, move 3 items each, and fail UNAVAILABLE every Nth time.</summary>
    private sealed class FakeScenario(int failEvery) : IScenario
    {
        private readonly int _failEvery = failEvery;
        private int _calls;

        public string ItemUnit => "items";

        public ValueTask<IWorker> CreateWorkerAsync(int index, CancellationToken cancellationToken) => ValueTask.FromResult<IWorker>(new Worker(this));

        public ValueTask DisposeAsync() => ValueTask.CompletedTask;

        private sealed class Worker(FakeScenario owner) : IWorker
        {
            public async ValueTask<long> ExecuteAsync(CancellationToken cancellationToken)
            {
                await Task.Delay(1, cancellationToken);
                var call = Interlocked.Increment(ref owner._calls);
                return owner._failEvery > 0 && call % owner._failEvery == 0
                    ? throw new RpcException(new Status(StatusCode.Unavailable, "fake"))
                    : 3;
            }

            public ValueTask DisposeAsync() => ValueTask.CompletedTask;
        }
    }
}
