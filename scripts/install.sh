#!/usr/bin/env bash
# For developers: installs this checkout of station-agent (Debian/Ubuntu, run as root) to /opt/station-agent
# with the system's Node >= 20, `npm ci` (registry and a compiler needed) and a build. Station PCs install the
# .deb instead (npm run package; docs/operations.md). Idempotent: running it again upgrades the code and
# leaves the config, the secrets and the database alone.
#   sudo bash scripts/install.sh [--prefix /opt/station-agent] [--no-start]
set -euo pipefail

PREFIX=/opt/station-agent
START=1
ROOT_DIR=${ROOT_DIR:-}   # for tests: install into a scratch root instead of /
while [ $# -gt 0 ]; do
  case "$1" in
    --prefix) PREFIX=$2; shift 2 ;;
    --no-start) START=0; shift ;;
    --root) ROOT_DIR=$2; shift 2 ;;
    *) echo "install.sh: unknown option $1" >&2; exit 2 ;;
  esac
done

SRC=$(cd "$(dirname "$0")/.." && pwd)
R=${ROOT_DIR%/}
say() { printf '==> %s\n' "$*"; }

[ "$(id -u)" = 0 ] || { echo "install.sh: run as root" >&2; exit 1; }
command -v node >/dev/null || { echo "install.sh: Node.js >= 20 is required" >&2; exit 1; }
major=$(node -p 'process.versions.node.split(".")[0]')
[ "$major" -ge 20 ] || { echo "install.sh: Node.js >= 20 is required (found $(node --version))" >&2; exit 1; }

say "user and groups"
if [ -z "$R" ]; then
  getent group dialout >/dev/null || groupadd --system dialout
  if ! id station-agent >/dev/null 2>&1; then
    useradd --system --home-dir /var/lib/station-agent --no-create-home --shell /usr/sbin/nologin --user-group station-agent
  fi
  usermod -a -G dialout station-agent
fi

say "code in $R$PREFIX"
mkdir -p "$R$PREFIX"
if [ "$SRC" != "$R$PREFIX" ]; then
  # Copy only what the agent runs; node_modules is rebuilt for this machine below.
  tar -C "$SRC" --exclude=node_modules --exclude=.git --exclude='*.db*' -cf - \
    agent drivers config scripts systemd docs package.json package-lock.json tsconfig.json tsconfig.build.json README.md \
    | tar -C "$R$PREFIX" -xf -
fi
if [ -z "${SKIP_NPM:-}" ]; then
  (cd "$R$PREFIX" && npm ci --no-audit --no-fund && npm run -s build && npm prune --omit=dev --no-audit --no-fund)
fi

say "folders"
install -d -m 0750 "$R/etc/station-agent" "$R/etc/station-agent/secrets" "$R/var/lib/station-agent"
if [ -z "$R" ]; then
  chown root:station-agent /etc/station-agent /etc/station-agent/secrets
  chown station-agent:station-agent /var/lib/station-agent
fi
if [ ! -e "$R/etc/station-agent/config.yaml" ]; then
  install -m 0640 "$SRC/config/example.yaml" "$R/etc/station-agent/config.yaml"
  [ -z "$R" ] && chown root:station-agent /etc/station-agent/config.yaml
  say "example config installed: edit /etc/station-agent/config.yaml, then: stationctl config check"
else
  say "keeping existing /etc/station-agent/config.yaml"
fi

say "systemd unit and helpers"
install -d "$R/etc/systemd/system" "$R/usr/lib/sysusers.d" "$R/usr/lib/tmpfiles.d" "$R/usr/local/bin"
sed "s#/opt/station-agent#$PREFIX#g" "$SRC/systemd/station-agent.service" > "$R/etc/systemd/system/station-agent.service"
install -m 0644 "$SRC/systemd/station-agent.sysusers.conf" "$R/usr/lib/sysusers.d/station-agent.conf"
install -m 0644 "$SRC/systemd/station-agent.tmpfiles.conf" "$R/usr/lib/tmpfiles.d/station-agent.conf"
cat > "$R/usr/local/bin/stationctl" <<SH
#!/bin/sh
exec node $PREFIX/dist/agent/cli/stationctl.js --config "\${STATION_AGENT_CONFIG:-/etc/station-agent/config.yaml}" "\$@"
SH
chmod 0755 "$R/usr/local/bin/stationctl"

if [ -z "$R" ] && [ -d /run/systemd/system ]; then
  systemctl daemon-reload
  systemctl enable station-agent.service >/dev/null
  if [ "$START" = 1 ]; then systemctl restart station-agent.service; fi
  say "installed; status: systemctl status station-agent, logs: journalctl -u station-agent"
else
  say "installed (systemd not running here: unit not enabled)"
fi
