#!/usr/bin/env bash
# Build (once) and cache a Debian sid chroot with Asterisk 22 for the sipwarden lab.
#
#   scripts/lab/build-chroot.sh            # build if missing, otherwise do nothing
#   SIPWARDEN_LAB_DIR=/some/dir scripts/lab/build-chroot.sh
#   scripts/lab/build-chroot.sh --force    # rebuild even if a chroot is cached
#
# The chroot goes to ${SIPWARDEN_LAB_DIR:-/var/cache/sipwarden-lab}/chroot.
# It is built in a temporary directory next to it and renamed on success, so an
# interrupted build never leaves a half chroot behind.
set -euo pipefail

LAB_DIR="${SIPWARDEN_LAB_DIR:-/var/cache/sipwarden-lab}"
CHROOT="$LAB_DIR/chroot"
SUITE="${SIPWARDEN_LAB_SUITE:-sid}"
MIRROR="${SIPWARDEN_LAB_MIRROR:-}"   # empty: mmdebstrap picks the host's apt sources/default
FORCE=0
[[ "${1:-}" == "--force" ]] && FORCE=1

say() { printf 'build-chroot: %s\n' "$*" >&2; }
die() { say "ERROR: $*"; exit 1; }

if [[ $FORCE -eq 0 && -x "$CHROOT/usr/sbin/asterisk" ]]; then
  say "chroot already built at $CHROOT ($(chroot "$CHROOT" dpkg-query -W -f='${Version}' asterisk 2>/dev/null || echo '?')); nothing to do"
  exit 0
fi

[[ $(id -u) -eq 0 ]] || die "must run as root (mmdebstrap and chroot need it)"
command -v mmdebstrap >/dev/null 2>&1 || die "mmdebstrap is not installed; install it with: apt-get install -y mmdebstrap"

if grep -qF "lowerdir=$CHROOT," /proc/self/mountinfo 2>/dev/null; then
  die "a running lab uses $CHROOT (overlay lower dir); run scripts/lab/lab.sh down first"
fi

mkdir -p "$LAB_DIR"
# leftovers of an interrupted earlier build
for old in "$LAB_DIR"/chroot.tmp.*; do
  [[ -e "$old" ]] || continue
  say "removing leftover partial build $old"
  rm -rf --one-file-system "$old"
done

TMP="$(mktemp -d "$LAB_DIR/chroot.tmp.XXXXXX")"
cleanup() { if [[ -n "${TMP:-}" && -d "$TMP" ]]; then rm -rf --one-file-system "$TMP"; fi; }
trap cleanup EXIT
rmdir "$TMP"   # mmdebstrap wants to create (or get an empty) target itself

say "building Debian $SUITE chroot with asterisk into $TMP (takes ~20-60 s)"
start=$(date +%s)
args=(--variant=apt --aptopt='Acquire::Check-Valid-Until "false"'
      --include=asterisk,asterisk-modules,asterisk-config "$SUITE" "$TMP")
[[ -n "$MIRROR" ]] && args+=("$MIRROR")
if ! timeout 1200 mmdebstrap "${args[@]}"; then
  die "mmdebstrap failed (see output above)"
fi
[[ -x "$TMP/usr/sbin/asterisk" ]] || die "build finished but $TMP/usr/sbin/asterisk is missing"

if [[ -e "$CHROOT" ]]; then
  say "replacing previous chroot"
  rm -rf --one-file-system "$CHROOT"
fi
mv "$TMP" "$CHROOT"
TMP=""
ver=$(chroot "$CHROOT" dpkg-query -W -f='${Version}' asterisk 2>/dev/null || echo '?')
say "done in $(( $(date +%s) - start )) s: $CHROOT (asterisk $ver)"
