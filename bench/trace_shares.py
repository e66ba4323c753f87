"""Where a gRPC server spends its busy time, from a dotnet-trace capture (how docs/benchmarks.md's profile was read).

  dotnet tool install -g dotnet-trace
  dotnet-trace collect -p PID --profile dotnet-sampled-thread-time --duration 00:00:12 -o full.nettrace   # under load
  dotnet-trace convert full.nettrace --format Speedscope -o full
  /usr/bin/python3 bench/trace_shares.py full.speedscope.json [bare.speedscope.json ...]

Prints, for each capture, the share of non-idle samples whose stack contains each frame of interest. The same
handler's share in a bare and a full server gives the cost ratio independently of how busy the machine was.
"""
import collections
import json
import sys

IDLE = ("WaitOneNoCheck", "WaitForSignal", "Monitor.Wait", "Sys.Read", "ManualResetEventSlim.Wait", "Thread.Sleep",
        "SocketAsyncEngine.EventLoop", "TimerQueue.TimerThread", "GateThreadStart", "Heartbeat.TimerLoop", "Main>")
FRAMES = ["HandleCallAsync", "InventoryGrpcService.GetItem", "QueryCompiler.ExecuteAsync", "CallLoggingInterceptor",
          "AuthInterceptor", "ExceptionInterceptor", "OpenTelemetry", "EntityFrameworkDiagnosticListener",
          "DatabaseFacade.get_ProviderName", "HostingApplicationDiagnostics", "Serilog", "Http2Connection"]


def stacks(profile, frames):
    """(stack, weight) for every interval of an evented speedscope profile."""
    stack, last = [], profile["startValue"]
    for event in profile["events"]:
        if stack and event["at"] > last:
            yield [frames[i] for i in stack], event["at"] - last
        last = event["at"]
        if event["type"] == "O":
            stack.append(event["frame"])
        else:
            stack.pop()


def shares(path):
    with open(path, encoding="utf-8") as f:
        capture = json.load(f)
    frames = [frame["name"] for frame in capture["shared"]["frames"]]
    busy, hits = 0.0, collections.Counter()
    for profile in capture["profiles"]:
        for names, weight in stacks(profile, frames):
            if any(idle in name for name in names[-4:] for idle in IDLE):
                continue
            busy += weight
            for key in FRAMES:
                if any(key in name for name in names):
                    hits[key] += weight
    print(path)
    for key in FRAMES:
        print(f"  {key:40s} {100 * hits[key] / busy:5.1f}%")


for argument in sys.argv[1:]:
    shares(argument)
