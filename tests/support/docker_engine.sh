#!/bin/sh
# Start Debian's Docker engine (docker.io) for `make local-invoke-docker`, unless one already answers.
# The engine is left running. No iptables rules and no masquerading: nothing is published off the
# machine, and SAM publishes the emulator's port on 127.0.0.1 only (--container-host-interface).
# Exit 0 with the engine answering on the socket; exit 1 with the reason on stderr otherwise.
set -u
SOCKET=/var/run/docker.sock
LOG=${DOCKERD_LOG:-/tmp/healthaudit-dockerd.log}
TIMEOUT=${DOCKERD_START_TIMEOUT:-60}

answers() { docker version --format '{{.Server.Version}}' >/dev/null 2>&1; }

if answers; then
    exit 0
fi
if ! command -v dockerd >/dev/null 2>&1; then
    echo "docker_engine: dockerd not installed (Debian: apt-get install -y docker.io)" >&2
    exit 1
fi
if [ "$(id -u)" != 0 ]; then
    echo "docker_engine: no engine answers on $SOCKET and starting dockerd needs root" >&2
    exit 1
fi
nohup dockerd --iptables=false --ip-masq=false --host "unix://$SOCKET" >"$LOG" 2>&1 &
pid=$!
waited=0
while ! answers; do
    if ! kill -0 "$pid" 2>/dev/null; then
        echo "docker_engine: dockerd exited before answering; its log ($LOG) ends with:" >&2
        tail -n 20 "$LOG" >&2
        exit 1
    fi
    if [ "$waited" -ge "$((TIMEOUT * 10))" ]; then
        echo "docker_engine: dockerd (pid $pid) did not answer on $SOCKET within ${TIMEOUT}s; log: $LOG" >&2
        exit 1
    fi
    sleep 0.1
    waited=$((waited + 1))
done
echo "docker_engine: dockerd $(docker version --format '{{.Server.Version}}') started (pid $pid, log $LOG)" >&2
