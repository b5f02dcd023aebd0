#!/usr/bin/env bash
# Runs every test of Kimara Gateway on a Debian machine with the .NET SDK: installs what the tests need where it is
# missing (redis-server, nginx, chromium, docker-compose, the npm tools under tests/tools), builds, and runs all tests.
# Ends with one line: "tests: N passed, N failed".
set -euo pipefail
cd "$(dirname "$0")/.."

as_root() { if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi; }

missing=()
command -v redis-server >/dev/null || missing+=(redis-server)
[ -x /usr/sbin/nginx ] || missing+=(nginx)
[ -x /usr/bin/chromium ] || missing+=(chromium)
command -v docker-compose >/dev/null || missing+=(docker-compose)
command -v npm >/dev/null || missing+=(npm)
if [ ${#missing[@]} -gt 0 ]; then
  echo "Installing ${missing[*]} (Debian packages)..."
  as_root apt-get update -qq
  DEBIAN_FRONTEND=noninteractive as_root apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

if [ -f tests/tools/package.json ]; then
  (cd tests/tools && npm ci --no-audit --no-fund --loglevel=error)
fi

dotnet build KimaraGateway.sln -c Release -warnaserror --nologo -v quiet

results=$(mktemp -d)
status=0
dotnet test KimaraGateway.sln -c Release --no-build --nologo --logger "trx" --results-directory "$results" || status=$?

if [ -x scripts/validate-deploy.sh ]; then
  scripts/validate-deploy.sh || status=$?
fi

# Totals from the runners' own result files (one .trx per test project), so the closing line is the real count.
count() { cat "$results"/*.trx 2>/dev/null | grep -o "<Counters [^>]*" | grep -o " $1=\"[0-9]*\"" | tr -dc '0-9\n' | awk '{ s += $1 } END { print s + 0 }'; }
passed=$(count passed); failed=$(( $(count failed) + $(count error) + $(count timeout) + $(count aborted) ))
rm -rf "$results"
if [ "$passed" = 0 ] && [ "$status" = 0 ]; then
  echo "No test ran." >&2
  status=1
fi
echo "tests: $passed passed, $failed failed"
exit "$status"
