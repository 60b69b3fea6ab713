#!/usr/bin/env bash
# sipwarden lab: a real Asterisk 22 in a network namespace, plus attacker/phone hosts.
#
#   scripts/lab/lab.sh up              # build nothing; needs scripts/lab/build-chroot.sh first
#   scripts/lab/lab.sh status
#   scripts/lab/lab.sh exec h11 svcrack -u 1001 -x 198.18.0.11 198.18.0.1
#   scripts/lab/lab.sh cli 'pjsip show endpoints'
#   scripts/lab/lab.sh down
#
# Layout (all inside namespaces this script creates; the host's own network
# namespace and ruleset are never touched):
#   ${P}-pbx  br0 198.18.0.1/24 fd00:5157::1/64   Asterisk; AMI 127.0.0.1:5038, ARI 127.0.0.1:8088
#   ${P}-h11  eth0 198.18.0.11  fd00:5157::11      attacker / phone
#   ${P}-h12  eth0 198.18.0.12  fd00:5157::12      phone (the only host 1003's ACL permits)
#   ${P}-h13  eth0 198.18.0.13  fd00:5157::13
#   ${P}-h50  eth0 198.18.0.50  fd00:5157::50      the ITSP trunk "provider"
# Each host is a veth pair whose other end (v11, v12, ...) is a port of br0 in ${P}-pbx.
#
# Environment:
#   SIPWARDEN_LAB_PREFIX      namespace prefix (default swlab); use different ones for parallel runs
#   SIPWARDEN_LAB_DIR         cache dir holding chroot/ (default /var/cache/sipwarden-lab)
#   SIPWARDEN_LAB_RUN         run-state dir (default /run/sipwarden-lab); per prefix ${RUN}/${P}
#   SIPWARDEN_LAB_CONF        Asterisk config dir copied to /etc/asterisk (default test/lab/asterisk)
#   SIPWARDEN_LAB_EXTRA_CONF  ':'-separated files or dirs copied over it afterwards
#                             (e.g. the real dialplan/sipwarden-dialplan.conf)
#   SIPWARDEN_LAB_BOOT_TIMEOUT seconds to wait for Asterisk to be fully booted (default 60)
#
# The cached chroot is never written to: each run mounts an overlayfs on top of it
# (${RUN}/${P}/root), so parallel labs with different prefixes do not share state
# and every `up` starts from a fresh Asterisk (empty astdb, fresh logs).
set -euo pipefail

P="${SIPWARDEN_LAB_PREFIX:-swlab}"
LAB_DIR="${SIPWARDEN_LAB_DIR:-/var/cache/sipwarden-lab}"
CHROOT="$LAB_DIR/chroot"
RUN_BASE="${SIPWARDEN_LAB_RUN:-/run/sipwarden-lab}"
RUN="$RUN_BASE/$P"
ROOT="$RUN/root"
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO="$(cd "$HERE/../.." && pwd)"
CONF="${SIPWARDEN_LAB_CONF:-$REPO/test/lab/asterisk}"
BOOT_TIMEOUT="${SIPWARDEN_LAB_BOOT_TIMEOUT:-60}"
HOSTS=(11 12 13 50)
NET4=198.18.0
NET6=fd00:5157:

say() { printf 'lab[%s]: %s\n' "$P" "$*" >&2; }
die() { say "ERROR: $*"; exit 1; }

[[ "$P" =~ ^[a-z][a-z0-9]{0,11}$ ]] || die "SIPWARDEN_LAB_PREFIX must match ^[a-z][a-z0-9]{0,11}\$ (got '$P')"

need_root() { [[ $(id -u) -eq 0 ]] || die "must run as root (network namespaces, mounts, chroot)"; }

ns_exists() { [[ -e "/run/netns/$1" ]]; }

our_namespaces() {
  local n
  for n in $(ip netns list 2>/dev/null | awk '{print $1}'); do
    [[ "$n" == "$P-"* ]] && echo "$n"
  done
  return 0
}

# the PID we started, only if it is still our asterisk (guards against PID reuse)
our_pid() {
  local pid
  [[ -f "$RUN/asterisk.pid" ]] || return 1
  pid="$(cat "$RUN/asterisk.pid")"
  [[ "$pid" =~ ^[0-9]+$ ]] || return 1
  [[ -d "/proc/$pid" ]] || return 1
  [[ "$(readlink "/proc/$pid/root" 2>/dev/null)" == "$ROOT" ]] || return 1
  echo "$pid"
}

cli() { # cli TIMEOUT 'command'
  timeout "$1" ip netns exec "$P-pbx" chroot "$ROOT" /usr/sbin/asterisk -rx "$2"
}

net_up() {
  local h ns
  ip netns add "$P-pbx"
  ip -n "$P-pbx" link set lo up
  ip -n "$P-pbx" link add br0 type bridge
  ip -n "$P-pbx" addr add "$NET4.1/24" dev br0
  ip -n "$P-pbx" addr add "${NET6}:1/64" dev br0 nodad
  ip -n "$P-pbx" link set br0 up
  for h in "${HOSTS[@]}"; do
    ns="$P-h$h"
    ip netns add "$ns"
    ip -n "$ns" link set lo up
    # both ends are created directly inside our namespaces: nothing appears on the host
    ip -n "$P-pbx" link add "v$h" type veth peer name eth0 netns "$ns"
    ip -n "$P-pbx" link set "v$h" master br0
    ip -n "$P-pbx" link set "v$h" up
    ip -n "$ns" addr add "$NET4.$h/24" dev eth0
    ip -n "$ns" addr add "${NET6}:$h/64" dev eth0 nodad
    ip -n "$ns" link set eth0 up
  done
}

mounts_under() { # deepest first
  awk -v r="$1" '$5 == r || index($5, r "/") == 1 {print $5}' /proc/self/mountinfo | sort -r
}

fs_down() {
  local m
  for m in $(mounts_under "$ROOT"); do
    umount "$m" 2>/dev/null || { say "umount $m busy; detaching lazily"; umount -l "$m"; }
  done
  if mountpoint -q "$ROOT" 2>/dev/null; then die "$ROOT is still mounted; not removing $RUN"; fi
  if [[ -d "$RUN" ]]; then rm -rf --one-file-system "$RUN"; fi
}

fs_up() {
  local f
  mkdir -p "$RUN/upper" "$RUN/work" "$ROOT"
  mount -t overlay overlay -o "lowerdir=$CHROOT,upperdir=$RUN/upper,workdir=$RUN/work" "$ROOT"
  mount -t proc proc "$ROOT/proc"
  for f in null zero random urandom; do
    [[ -c "$ROOT/dev/$f" ]] || { touch "$ROOT/dev/$f"; mount --bind "/dev/$f" "$ROOT/dev/$f"; }
  done
  # replace /etc/asterisk by the project's lab configs
  rm -rf "$ROOT/etc/asterisk"
  mkdir -p "$ROOT/etc/asterisk"
  cp -r "$CONF"/. "$ROOT/etc/asterisk/"
  if [[ -n "${SIPWARDEN_LAB_EXTRA_CONF:-}" ]]; then
    local IFS=':'
    for f in $SIPWARDEN_LAB_EXTRA_CONF; do
      [[ -e "$f" ]] || die "SIPWARDEN_LAB_EXTRA_CONF: $f does not exist"
      if [[ -d "$f" ]]; then cp -r "$f"/. "$ROOT/etc/asterisk/"; else cp "$f" "$ROOT/etc/asterisk/"; fi
    done
  fi
  chroot "$ROOT" chown -R asterisk:asterisk /etc/asterisk
}

asterisk_up() {
  local pid deadline
  : > "$RUN/asterisk.out"
  # ip netns exec and chroot both exec(), so $! is asterisk itself (-f: no fork)
  setsid ip netns exec "$P-pbx" chroot "$ROOT" /usr/sbin/asterisk -f -U asterisk -G asterisk \
    </dev/null >>"$RUN/asterisk.out" 2>&1 &
  pid=$!
  echo "$pid" > "$RUN/asterisk.pid"
  deadline=$(( $(date +%s) + BOOT_TIMEOUT ))
  until cli 5 'core waitfullybooted' >/dev/null 2>&1; do
    if ! kill -0 "$pid" 2>/dev/null; then
      tail -n 30 "$RUN/asterisk.out" >&2 || true
      die "asterisk (pid $pid) exited during startup; log: $RUN/asterisk.out, $ROOT/var/log/asterisk/messages.log"
    fi
    (( $(date +%s) < deadline )) || die "asterisk not fully booted after ${BOOT_TIMEOUT}s (pid $pid)"
    sleep 0.2
  done
  # AMI listening?
  until ip netns exec "$P-pbx" bash -c 'exec 3<>/dev/tcp/127.0.0.1/5038' 2>/dev/null; do
    (( $(date +%s) < deadline )) || die "AMI not listening on 127.0.0.1:5038 after ${BOOT_TIMEOUT}s"
    sleep 0.2
  done
  say "asterisk pid $pid fully booted: $(cli 5 'core show version' | head -n1)"
}

asterisk_down() {
  local pid i
  pid="$(our_pid)" || return 0
  say "stopping asterisk pid $pid"
  cli 10 'core stop now' >/dev/null 2>&1 || true
  for i in $(seq 1 50); do kill -0 "$pid" 2>/dev/null || return 0; sleep 0.2; done
  say "asterisk pid $pid still alive; SIGTERM"
  kill -TERM "$pid" 2>/dev/null || true
  for i in $(seq 1 25); do kill -0 "$pid" 2>/dev/null || return 0; sleep 0.2; done
  say "asterisk pid $pid still alive; SIGKILL"
  kill -KILL "$pid" 2>/dev/null || true
  for i in $(seq 1 25); do kill -0 "$pid" 2>/dev/null || return 0; sleep 0.2; done
  die "could not stop asterisk pid $pid"
}

cmd_down() {
  need_root
  local n
  asterisk_down
  fs_down
  for n in $(our_namespaces); do ip netns del "$n"; done
  say "down"
}

cmd_up() {
  need_root
  local t0; t0=$(date +%s%N)
  [[ -x "$CHROOT/usr/sbin/asterisk" ]] || die "no Asterisk chroot at $CHROOT; build it with: $HERE/build-chroot.sh"
  [[ -f "$CONF/pjsip.conf" ]] || die "no Asterisk lab config at $CONF"
  command -v ip >/dev/null || die "iproute2 (ip) is missing"
  if [[ -n "$(our_namespaces)" || -e "$RUN" ]]; then
    say "leftovers of an earlier lab with prefix '$P' found; tearing them down first"
    cmd_down
  fi
  # any failure from here on (die, or a failing command under set -e) tears down what exists
  trap 'rc=$?; if [[ $rc -ne 0 ]]; then say "up failed; cleaning up"; cmd_down || true; fi' EXIT
  net_up
  fs_up
  asterisk_up
  trap - EXIT
  say "up in $(( ($(date +%s%N) - t0) / 1000000 )) ms (namespaces ${P}-pbx, ${P}-h11/h12/h13/h50)"
}

cmd_status() {
  local rc=0 pid
  echo "prefix:     $P"
  echo "namespaces: $(our_namespaces | tr '\n' ' ')"
  if pid="$(our_pid)"; then
    echo "asterisk:   pid $pid, root $ROOT"
    cli 5 'core show uptime' | sed 's/^/            /' || rc=1
    cli 5 'pjsip show contacts' | grep -E 'Contact:|Objects found' | sed 's/^/            /' || true
  else
    echo "asterisk:   not running"; rc=3
  fi
  return $rc
}

cmd_exec() {
  need_root
  [[ $# -ge 2 ]] || die "usage: lab.sh exec HOST CMD [ARGS...]   (HOST: pbx h11 h12 h13 h50)"
  local host="$1"; shift
  [[ "$host" =~ ^(pbx|h[0-9]+)$ ]] || die "unknown host '$host' (pbx h11 h12 h13 h50)"
  ns_exists "$P-$host" || die "namespace $P-$host does not exist (lab down?)"
  exec ip netns exec "$P-$host" "$@"
}

cmd_cli() {
  [[ $# -ge 1 ]] || die "usage: lab.sh cli 'CLI COMMAND'"
  our_pid >/dev/null || die "asterisk is not running (lab down?)"
  cli "${SIPWARDEN_LAB_CLI_TIMEOUT:-20}" "$*"
}

case "${1:-}" in
  up) shift; cmd_up "$@" ;;
  down) shift; cmd_down "$@" ;;
  status) shift; cmd_status "$@" ;;
  exec) shift; cmd_exec "$@" ;;
  cli) shift; cmd_cli "$@" ;;
  paths) echo "prefix=$P chroot=$CHROOT run=$RUN root=$ROOT conf=$CONF" ;;
  *) echo "usage: $0 up|down|status|exec HOST CMD...|cli 'CLI COMMAND'|paths" >&2; exit 2 ;;
esac
