# Kimara Gateway container image (and, with --target simulator, the Kimara simulator for a local stack).
#   docker build -t kimara-gateway .
#   docker build --target simulator -t kimara-simulator .
# Multi-stage: the SDK image builds and publishes; the runtime images hold only the published app, run as the
# image's non-root "app" user, and cannot write anywhere but /app/.data (the local output store).

FROM mcr.microsoft.com/dotnet/sdk:10.0 AS build
WORKDIR /src
# global.json is left out on purpose: it pins the SDK of developer machines; here the SDK image is the pin.
COPY Directory.Build.props Directory.Packages.props .editorconfig ./
COPY src/KimaraGateway/KimaraGateway.csproj src/KimaraGateway/
COPY src/Kimara.Simulator/Kimara.Simulator.csproj src/Kimara.Simulator/
# Restore on its own layer, so a code change does not download packages again.
RUN dotnet restore src/KimaraGateway/KimaraGateway.csproj
COPY src/ src/
RUN dotnet publish src/KimaraGateway/KimaraGateway.csproj --configuration Release --no-restore --output /out/gateway \
    && dotnet publish src/Kimara.Simulator/Kimara.Simulator.csproj --configuration Release --no-restore --output /out/simulator

FROM mcr.microsoft.com/dotnet/aspnet:10.0 AS simulator
WORKDIR /app
COPY --from=build /out/simulator ./
USER $APP_UID
ENV ASPNETCORE_HTTP_PORTS=8080
EXPOSE 8080
ENTRYPOINT ["dotnet", "Kimara.Simulator.dll"]

FROM mcr.microsoft.com/dotnet/aspnet:10.0 AS gateway
WORKDIR /app
COPY --from=build /out/gateway ./
RUN mkdir /app/.data && chown "$APP_UID" /app/.data
USER $APP_UID
ENV ASPNETCORE_HTTP_PORTS=8080
EXPOSE 8080
# The aspnet image has no curl or wget; the gateway probes itself (HealthProbe) and exits 0 or 1.
# Liveness, not readiness: an orchestrator that replaces unhealthy containers must not restart every replica while
# Redis is away (they recover by themselves and answer 503 meanwhile). Load balancers probe /health/ready.
# No --start-period: dockerfilelint does not know it; five retries at 15 s cover a slow start as well.
HEALTHCHECK --interval=15s --timeout=5s --retries=5 \
    CMD ["dotnet", "KimaraGateway.dll", "--healthcheck", "/health/live"]
ENTRYPOINT ["dotnet", "KimaraGateway.dll"]
