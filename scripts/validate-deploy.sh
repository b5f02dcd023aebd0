#!/usr/bin/env bash
# Validates the deployment files offline, without a Docker engine:
#   1. docker-compose.yml parses and interpolates (docker-compose config -q);
#   2. the Dockerfile passes dockerfilelint;
#   3. what the Dockerfile copies exists in the build context (and is not excluded by .dockerignore), and
#      `dotnet publish` produces every file the images run (entrypoint dlls, runtimeconfig, XML docs, appsettings);
#   4. the OpenAPI document served by the published gateway passes `redocly lint` (tests/tools/redocly.yaml).
# Needs: dotnet, curl, node/npm, docker-compose (apt-get install -y --no-install-recommends docker-compose).
# npm tools come from tests/tools (installed here with `npm ci` when missing).
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
tools="$root/tests/tools"
work="$(mktemp -d)"
gateway_pid=""

cleanup() {
    if [[ -n "$gateway_pid" ]]; then
        kill "$gateway_pid" 2>/dev/null || true
        wait "$gateway_pid" 2>/dev/null || true
    fi
    rm -rf "$work"
}
trap cleanup EXIT

step() { printf '\n== %s\n' "$*"; }
fail() { printf 'FAIL: %s\n' "$*" >&2; exit 1; }

if [[ ! -x "$tools/node_modules/.bin/dockerfilelint" || ! -x "$tools/node_modules/.bin/redocly" ]]; then
    step "installing npm tools (tests/tools)"
    npm ci --prefix "$tools" --no-audit --no-fund
fi

step "docker-compose config"
command -v docker-compose >/dev/null || fail "docker-compose is not installed (apt-get install -y --no-install-recommends docker-compose)"
# Placeholders for the variables the file requires; no secret is needed to validate it.
GATEWAY_KEY_HASH="$(printf '%064d' 0)" OUTPUT_LINK_KEY="$(printf '%032d' 0)" docker-compose -f docker-compose.yml config -q
echo "docker-compose.yml is valid"

step "dockerfilelint"
"$tools/node_modules/.bin/dockerfilelint" Dockerfile

step "Dockerfile build context"
# Sources of COPY lines that read the build context (not --from=...).
mapfile -t sources < <(awk '/^COPY / && $2 !~ /^--from=/ { for (i = 2; i < NF; i++) if ($i !~ /^--/) print $i }' Dockerfile)
[[ ${#sources[@]} -gt 0 ]] || fail "no COPY from the build context found in the Dockerfile"
mapfile -t ignored < <(grep -v '^\s*#' .dockerignore | sed '/^\s*$/d; s#^\*\*/##; s#/$##')
for source in "${sources[@]}"; do
    [[ -e "$source" ]] || fail "the Dockerfile copies $source, which does not exist"
    for pattern in "${ignored[@]}"; do
        case "${source%/}" in
            $pattern | $pattern/*) fail "the Dockerfile copies $source, but .dockerignore excludes it ($pattern)" ;;
        esac
    done
    echo "context has $source"
done

step "dotnet publish"
dotnet publish src/KimaraGateway/KimaraGateway.csproj --configuration Release --output "$work/gateway" --nologo -v quiet
dotnet publish src/Kimara.Simulator/Kimara.Simulator.csproj --configuration Release --output "$work/simulator" --nologo -v quiet
# Every dll an ENTRYPOINT or HEALTHCHECK runs, from the stage's publish folder.
mapfile -t entrypoints < <(grep -oE '"[A-Za-z.]+\.dll"' Dockerfile | tr -d '"' | sort -u)
for dll in "${entrypoints[@]}"; do
    [[ -f "$work/gateway/$dll" || -f "$work/simulator/$dll" ]] || fail "the Dockerfile runs $dll, which dotnet publish did not produce"
    echo "published $dll"
done
# What the gateway reads at run time besides its dlls: Swagger's XML comments and its settings.
for file in KimaraGateway.runtimeconfig.json KimaraGateway.deps.json KimaraGateway.xml appsettings.json; do
    [[ -f "$work/gateway/$file" ]] || fail "dotnet publish did not produce $file, which the gateway reads at run time"
    echo "published $file"
done
[[ -f "$work/simulator/Kimara.Simulator.runtimeconfig.json" ]] || fail "the simulator publish has no runtimeconfig"

step "OpenAPI lint"
port="$(node -e 'const s=require("net").createServer();s.listen(0,"127.0.0.1",()=>{console.log(s.address().port);s.close()})')"
# Development with no Kimara:BaseUrl: the gateway starts its own simulator and keeps runs in memory.
(cd "$work/gateway" && ASPNETCORE_ENVIRONMENT=Development exec dotnet KimaraGateway.dll --urls "http://127.0.0.1:$port" >"$work/gateway.log" 2>&1) &
gateway_pid=$!
for _ in $(seq 1 120); do
    curl -fsS "http://127.0.0.1:$port/health/live" >/dev/null 2>&1 && break
    kill -0 "$gateway_pid" 2>/dev/null || { cat "$work/gateway.log"; fail "the published gateway exited"; }
    sleep 0.5
done
curl -fsS "http://127.0.0.1:$port/swagger/v1/swagger.json" -o "$work/openapi.json" || { cat "$work/gateway.log"; fail "no OpenAPI document"; }
"$tools/node_modules/.bin/redocly" lint "$work/openapi.json" --config "$tools/redocly.yaml"

printf '\nDeployment files are valid.\n'
