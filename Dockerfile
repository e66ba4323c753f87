# syntax=docker/dockerfile:1
#
# One Dockerfile for every service; choose one with --target:
#   docker build --target inventory        -t contoso-retail/inventory .
#   docker build --target orders           -t contoso-retail/orders .
#if (IncludeTelemetry)
#   docker build --target telemetry-ingest -t contoso-retail/telemetry-ingest .
#endif
# (docker compose build does all of them; see docker-compose.yml and deploy/README.md.)
#
# Final images: the chiseled (distroless) ASP.NET Core runtime - no shell, no package manager, no SDK, no sources -
# running as the non-root "app" user (UID 1654), writing nowhere but /tmp, so a read-only root filesystem works.
# The plain chiseled variant (no ICU, no tzdata) suffices: the projects set InvariantGlobalization and keep time in UTC.
# Kestrel listens on 127.0.0.1 by default (appsettings.json); whatever runs the image sets
# Kestrel__Endpoints__Grpc__Url / Kestrel__Endpoints__Management__Url to listen on all interfaces, as
# docker-compose.yml and deploy/k8s do. CPU-related runtime settings (DOTNET_PROCESSOR_COUNT) depend on the CPU limit,
# so they live next to that limit in the manifests, not here.

ARG DOTNET_VERSION=10.0

# ---- restore: only what decides the packages, so these layers are reused until a project file changes
FROM mcr.microsoft.com/dotnet/sdk:${DOTNET_VERSION}-noble AS restore
# Restored for the target architecture too (ReadyToRun below), so every project's assets agree.
ARG TARGETARCH
WORKDIR /src
COPY global.json Directory.Build.props Directory.Packages.props ./
COPY src/Contracts/Contracts.csproj src/Contracts/
COPY src/ServiceDefaults/ServiceDefaults.csproj src/ServiceDefaults/
COPY deploy/docker/HealthProbe/HealthProbe.csproj deploy/docker/HealthProbe/
RUN --mount=type=cache,id=nuget,target=/root/.nuget/packages \
    dotnet restore src/ServiceDefaults/ServiceDefaults.csproj -a "$TARGETARCH" \
    && dotnet restore deploy/docker/HealthProbe/HealthProbe.csproj -a "$TARGETARCH"

# ---- sources every service shares (contracts, service defaults) and the health probe every image carries
FROM restore AS sources
COPY .editorconfig ./
COPY protos/ protos/
COPY src/Contracts/ src/Contracts/
COPY src/ServiceDefaults/ src/ServiceDefaults/
COPY deploy/docker/HealthProbe/ deploy/docker/HealthProbe/

FROM sources AS probe
RUN --mount=type=cache,id=nuget,target=/root/.nuget/packages \
    dotnet publish deploy/docker/HealthProbe/HealthProbe.csproj -c Release --no-restore -o /out/probe -p:UseAppHost=false

# ---- runtime: what every service image starts from
FROM mcr.microsoft.com/dotnet/aspnet:${DOTNET_VERSION}-noble-chiseled AS runtime
WORKDIR /app
# ASPNETCORE_HTTP_PORTS (8080 in the base image) is cleared: the Kestrel endpoints come from configuration.
ENV ASPNETCORE_HTTP_PORTS= \
    DOTNET_RUNNING_IN_CONTAINER=true \
    TMPDIR=/tmp
# dotnet /probe/Contoso.Retail.HealthProbe.dll grpc://127.0.0.1:<port> exits 0 when SERVING (compose health checks).
COPY --from=probe /out/probe /probe
# The base image's non-root "app" user, numeric so Kubernetes' runAsNonRoot can verify it.
USER 1654:1654

# Each service: restore its project (cached until a project file changes), add the sources, publish without the
# development settings (the development signing key stays out of every image), copy only the output to runtime.
# ReadyToRun (precompiled code for the target architecture) roughly halves the time to first SERVING on one core.

# ---- inventory
FROM restore AS inventory-restore
ARG TARGETARCH
COPY src/Inventory/Inventory.csproj src/Inventory/
RUN --mount=type=cache,id=nuget,target=/root/.nuget/packages \
    dotnet restore src/Inventory/Inventory.csproj -a "$TARGETARCH"

FROM inventory-restore AS inventory-publish
ARG TARGETARCH
COPY --from=sources /src/ ./
COPY src/Inventory/ src/Inventory/
RUN --mount=type=cache,id=nuget,target=/root/.nuget/packages \
    dotnet publish src/Inventory/Inventory.csproj -c Release --no-restore -o /out/app -p:UseAppHost=false \
    -a "$TARGETARCH" --self-contained false -p:PublishReadyToRun=true \
    && rm -f /out/app/appsettings.Development.json

FROM runtime AS inventory
COPY --from=inventory-publish /out/app ./
ENTRYPOINT ["dotnet", "Contoso.Retail.Inventory.dll"]

# ---- orders
FROM restore AS orders-restore
ARG TARGETARCH
COPY src/Orders/Orders.csproj src/Orders/
RUN --mount=type=cache,id=nuget,target=/root/.nuget/packages \
    dotnet restore src/Orders/Orders.csproj -a "$TARGETARCH"

FROM orders-restore AS orders-publish
ARG TARGETARCH
COPY --from=sources /src/ ./
COPY src/Orders/ src/Orders/
RUN --mount=type=cache,id=nuget,target=/root/.nuget/packages \
    dotnet publish src/Orders/Orders.csproj -c Release --no-restore -o /out/app -p:UseAppHost=false \
    -a "$TARGETARCH" --self-contained false -p:PublishReadyToRun=true \
    && rm -f /out/app/appsettings.Development.json

FROM runtime AS orders
COPY --from=orders-publish /out/app ./
ENTRYPOINT ["dotnet", "Contoso.Retail.Orders.dll"]

#if (IncludeTelemetry)
# ---- telemetry-ingest
FROM restore AS telemetry-ingest-restore
ARG TARGETARCH
COPY src/TelemetryIngest/TelemetryIngest.csproj src/TelemetryIngest/
RUN --mount=type=cache,id=nuget,target=/root/.nuget/packages \
    dotnet restore src/TelemetryIngest/TelemetryIngest.csproj -a "$TARGETARCH"

FROM telemetry-ingest-restore AS telemetry-ingest-publish
ARG TARGETARCH
COPY --from=sources /src/ ./
COPY src/TelemetryIngest/ src/TelemetryIngest/
RUN --mount=type=cache,id=nuget,target=/root/.nuget/packages \
    dotnet publish src/TelemetryIngest/TelemetryIngest.csproj -c Release --no-restore -o /out/app -p:UseAppHost=false \
    -a "$TARGETARCH" --self-contained false -p:PublishReadyToRun=true \
    && rm -f /out/app/appsettings.Development.json

FROM runtime AS telemetry-ingest
COPY --from=telemetry-ingest-publish /out/app ./
ENTRYPOINT ["dotnet", "Contoso.Retail.TelemetryIngest.dll"]
#endif
