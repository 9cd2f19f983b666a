#!/usr/bin/env bash
# Plain XRootD server serving a local directory, for tests (Debian 12: xrootd-server 5.5, run as root).
#
#   tests/services/xrootd.sh start <dir> [port]   # serve <dir> (read-write) on root://localhost:<port>
#   tests/services/xrootd.sh stop [port]
#   tests/services/xrootd.sh status [port]
#
# port defaults to 1094. Files are addressed by their absolute local path, with a double slash:
#   root://localhost:1094//abs/path/to/dir/file.root      (single slash = relative path, refused)
# State (config, log, pid, admin files) lives in /tmp/columnar-xrootd/<port>/. The generated config:
#   all.export <dir>              # only <dir> is visible; exports are r/w unless marked r/o
#   all.adminpath / all.pidpath   # the state dir instead of /var/spool/xrootd and /run/xrootd
#   xrd.port <port>
# No security library is loaded, so there is no authentication (anonymous access).
# xrootd refuses to run as root, so it runs as the user `xrootd` (-R); that user gets read/write
# access to <dir> (ACL if setfacl is installed, else chmod) and traverse access to its parents.
set -euo pipefail

STATE_ROOT=/tmp/columnar-xrootd
XRD_USER=xrootd
TIMEOUT="${XROOTD_TEST_TIMEOUT:-30}"

say() { echo "xrootd.sh: $*"; }
die() { echo "xrootd.sh: ERROR: $*" >&2; exit 1; }

pid_of() { cat "$STATE_ROOT/$1/xrootd.pid" 2>/dev/null || true; }
# is process $1 alive (zombies are dead)? is the server on port $1 alive according to its pid file?
alive() { [ -n "$1" ] && [ -r "/proc/$1/status" ] && ! grep -q '^State:[[:space:]]*Z' "/proc/$1/status"; }
running() { alive "$(pid_of "$1")"; }

# does the server on port $1 answer a stat of $2?
answers() {
    XRD_CONNECTIONRETRY=1 XRD_CONNECTIONWINDOW=3 XRD_REQUESTTIMEOUT=5 \
        timeout 10 xrdfs "localhost:$1" stat "$2" >/dev/null 2>&1
}

as_xrd() { runuser -u "$XRD_USER" -- "$@"; }

# give the xrootd user read/write access to $1 (and traverse access to its parents)
grant_access() {
    local dir="$1" p="$1"
    while p="$(dirname "$p")"; [ "$p" != / ]; do
        if ! as_xrd test -x "$p"; then
            say "chmod o+x $p (so that $XRD_USER can reach $dir)"
            chmod o+x "$p"
        fi
    done
    # ACLs (default ACLs too, so that directories created later by root stay writable for xrootd)
    if ! { command -v setfacl >/dev/null && setfacl -R -m "u:$XRD_USER:rwX" -m "d:u:$XRD_USER:rwX" "$dir"; }; then
        say "setfacl not available (apt-get install acl), making $dir world-readable/writable instead"
        chmod -R o+rwX "$dir"
    fi
    as_xrd test -r "$dir" -a -w "$dir" -a -x "$dir" || die "$XRD_USER cannot read/write $dir"
}

start() {
    local dir="${1:-}" port="${2:-1094}"
    [ -n "$dir" ] || die "usage: $0 start <dir> [port]"
    [ "$(id -u)" -eq 0 ] || die "must run as root"
    [ -d "$dir" ] || die "no such directory: $dir"
    dir="$(cd "$dir" && pwd -P)"
    case "$dir" in *[[:space:]]*) die "directory path must not contain whitespace: $dir" ;; esac
    local state="$STATE_ROOT/$port"
    local cfg="$state/xrootd.cfg" log="$state/xrootd.log"
    local new
    new="$(printf '%s\n' \
        "# written by columnar tests/services/xrootd.sh" \
        "all.export $dir" \
        "all.adminpath $state" \
        "all.pidpath $state" \
        "xrd.port $port")"

    if running "$port"; then
        if [ "$new" = "$(cat "$cfg" 2>/dev/null)" ] && answers "$port" "$dir"; then
            say "already running: root://localhost:$port/$dir (pid $(pid_of "$port"))"
            return 0
        fi
        say "running with another configuration, restarting"
        stop "$port"
    fi

    grant_access "$dir"
    mkdir -p "$state"
    chown "$XRD_USER:" "$state"
    printf '%s\n' "$new" >"$cfg"
    rm -f "$state/xrootd.pid"
    say "starting xrootd on port $port serving $dir (log: $log)"
    (cd "$state" && xrootd -b -R "$XRD_USER" -l "$log" -s "$state/xrootd.pid" -c "$cfg") ||
        { tail -n 20 "$log" >&2 || true; die "xrootd did not start"; }

    local t0=$SECONDS
    until answers "$port" "$dir"; do
        if [ $((SECONDS - t0)) -ge "$TIMEOUT" ] || { [ $((SECONDS - t0)) -ge 3 ] && ! running "$port"; }; then
            tail -n 30 "$log" >&2 || true
            die "xrootd on port $port does not answer after $((SECONDS - t0)) s"
        fi
        sleep 0.5
    done
    say "ok: root://localhost:$port/$dir (pid $(pid_of "$port"), took $((SECONDS - t0)) s)"
}

stop() {
    local port="${1:-1094}" p
    if ! running "$port"; then
        say "not running on port $port"
        return 0
    fi
    p="$(pid_of "$port")"
    say "stopping xrootd on port $port (pid $p)"
    kill "$p"
    for _ in $(seq 20); do alive "$p" || break; sleep 0.5; done
    if alive "$p"; then
        say "still alive after 10 s, killing it"
        kill -9 "$p" || true
    fi
    rm -f "$STATE_ROOT/$port/xrootd.pid"
    say "stopped"
}

status() {
    local port="${1:-1094}" dir
    running "$port" || die "not running on port $port"
    dir="$(sed -n 's/^all.export //p' "$STATE_ROOT/$port/xrootd.cfg")"
    answers "$port" "$dir" || die "xrootd (pid $(pid_of "$port")) does not answer on port $port"
    say "running: root://localhost:$port/$dir (pid $(pid_of "$port"))"
}

cmd="${1:-}"
shift || true
case "$cmd" in
    start) start "$@" ;;
    stop) stop "$@" ;;
    status) status "$@" ;;
    *) echo "usage: $0 start <dir> [port] | stop [port] | status [port]" >&2; exit 2 ;;
esac
