#!/usr/bin/env bash
# release.sh builds kerf's release files into dist/:
#
#   kerf-VERSION-linux-arm64    Raspberry Pi 3/4/5/Zero 2 W on 64-bit Raspberry Pi OS
#   kerf-VERSION-linux-armv7    Raspberry Pi 2/3 on 32-bit Raspberry Pi OS (GOARM=7)
#   kerf-VERSION-linux-armv6    Raspberry Pi Zero/Zero W/1 (GOARM=6; runs on every Pi)
#   kerf-VERSION-linux-amd64    a PC, or the simulator on a laptop
#   kerf-VERSION-deploy.tar.gz  deploy/ (systemd unit, udev rule, example config) and docs/install-pi.md
#   SHA256SUMS                  sha256sum -c SHA256SUMS checks them
#
# Usage:
#   scripts/release.sh [--check] [--worktree] [VERSION]
#
# The binaries are static (CGO_ENABLED=0), built with -trimpath, stripped
# (-s -w), and stamped through -ldflags -X with the version, the commit and the
# commit's time (read them back with `kerf version`). They are reproducible:
# the same commit built by the same Go release gives the same bytes, whoever
# builds it, wherever the checkout is.
#
# By default the committed HEAD is built (through `git archive`, so local edits
# and untracked files never leak into a release); --worktree builds the
# working tree instead and stamps the commit "-dirty" when it differs from HEAD.
# --check builds everything a second time, from a copy of the source at another
# path and with an empty build cache, and fails unless both builds are
# byte-identical.
#
# VERSION defaults to $KERF_VERSION, then to `git describe --tags --match 'v*'`,
# then to a Go-style pseudo-version v0.0.0-YYYYMMDDhhmmss-<12 hex of the commit>.
# SOURCE_DATE_EPOCH, when set, replaces the commit time as the build date.
set -euo pipefail

usage() { sed -n '2,/^set -euo/p' "$0" | sed -e '$d' -e 's/^# \{0,1\}//'; }

check=0 worktree=0 version="${KERF_VERSION:-}"
while [ $# -gt 0 ]; do
  case "$1" in
    --check) check=1 ;;
    --worktree) worktree=1 ;;
    -h|--help) usage; exit 0 ;;
    -*) echo "release.sh: unknown option $1 (see --help)" >&2; exit 2 ;;
    *) version="$1" ;;
  esac
  shift
done

root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"
dist="$root/dist"
pkg=github.com/kerf-cnc/kerf/cmd
targets=(linux/arm64 linux/arm/7 linux/arm/6 linux/amd64)

die() { echo "release.sh: $*" >&2; exit 1; }
command -v go >/dev/null || die "go is not on PATH"
command -v git >/dev/null || die "git is not on PATH (the release is stamped with the commit)"
git rev-parse --verify -q HEAD >/dev/null || die "$root is not a git checkout with a commit"

commit="$(git rev-parse HEAD)"
if [ "$worktree" = 1 ] && [ -n "$(git status --porcelain --untracked-files=no)" ]; then
  commit="$commit-dirty"
fi
epoch="${SOURCE_DATE_EPOCH:-$(git log -1 --format=%ct HEAD)}"
case "$epoch" in ''|*[!0-9]*) die "SOURCE_DATE_EPOCH=$epoch is not a number of seconds" ;; esac
build_date="$(date -u -d "@$epoch" +%Y-%m-%dT%H:%M:%SZ)"
if [ -z "$version" ]; then
  version="$(git describe --tags --match 'v*' 2>/dev/null || true)"
fi
if [ -z "$version" ]; then
  version="v0.0.0-$(date -u -d "@$epoch" +%Y%m%d%H%M%S)-$(git rev-parse --short=12 HEAD)"
fi
case "$version" in *[!A-Za-z0-9._+-]*) die "version $version: use letters, digits and . _ + - only" ;; esac

# A clean, explicit build environment: nothing from the caller's GOFLAGS,
# GOAMD64 or GOEXPERIMENT changes the bytes, and the toolchain is never
# swapped for a downloaded one.
goenv=(env -u GOFLAGS -u GOEXPERIMENT -u GOARM -u GOAMD64 -u GOARM64
  GOTOOLCHAIN=local CGO_ENABLED=0 GO111MODULE=on GOPROXY="$(go env GOPROXY)" GOAMD64=v1 GOARM64=v8.0)

tmp="$(mktemp -d)"
trap 'chmod -R u+w "$tmp" 2>/dev/null; rm -rf "$tmp"' EXIT

# source DIR: put the source to build in DIR.
source_into() {
  mkdir -p "$1"
  if [ "$worktree" = 1 ]; then
    # Tracked files as they are on disk (untracked files stay out).
    git ls-files -z | tar --null --ignore-failed-read -T - -cf - 2>/dev/null | tar -xf - -C "$1"
  else
    git archive --format=tar HEAD | tar -xf - -C "$1"
  fi
}

# build SRC OUT [extra env...]: build every target from SRC into OUT.
build_all() {
  local src="$1" out="$2"; shift 2
  mkdir -p "$out"
  local ldflags="-s -w -X $pkg.version=$version -X $pkg.commit=$commit -X $pkg.buildDate=$build_date"
  local t os arch arm name
  for t in "${targets[@]}"; do
    IFS=/ read -r os arch arm <<<"$t"
    name="kerf-$version-$os-$arch${arm:+v$arm}"
    echo "  $name"
    (cd "$src" && "${goenv[@]}" "$@" GOOS="$os" GOARCH="$arch" ${arm:+GOARM=$arm} \
      go build -trimpath -buildvcs=false -ldflags "$ldflags" -o "$out/$name" ./cmd/kerf) \
      || die "build $t failed"
  done
  # The deploy bundle: fixed order, owner and time, and gzip without a name
  # or time stamp, so it is byte-for-byte reproducible too.
  (cd "$src" && tar --sort=name --mtime="@$epoch" --owner=0 --group=0 --numeric-owner \
    --mode='u+rwX,go+rX,go-w' -cf - deploy docs/install-pi.md) | gzip -9 -n >"$out/kerf-$version-deploy.tar.gz"
  (cd "$out" && sha256sum kerf-* >SHA256SUMS)
}

echo "kerf $version, commit $commit, built $build_date, $(go env GOVERSION)"
source_into "$tmp/src"
build_all "$tmp/src" "$tmp/out"

if [ "$check" = 1 ]; then
  echo "reproducibility check: rebuilding from another path with an empty build cache"
  source_into "$tmp/elsewhere/kerf-src"
  build_all "$tmp/elsewhere/kerf-src" "$tmp/out2" GOCACHE="$tmp/gocache"
  if ! diff -u "$tmp/out/SHA256SUMS" "$tmp/out2/SHA256SUMS"; then
    die "NOT reproducible: the two builds differ (see the diff above)"
  fi
  echo "reproducible: both builds are byte-identical"
fi

# Smoke test: every binary this machine can run (natively, or through
# qemu-user when it is installed) must report the stamps it was given.
smoke() {
  local bin="$1" arch="$2" arm="$3" runner=()
  local host; host="$(go env GOHOSTARCH)"
  if [ "$arch" != "$host" ]; then
    local q
    case "$arch" in arm) q=qemu-arm ;; arm64) q=qemu-aarch64 ;; amd64) q=qemu-x86_64 ;; esac
    if command -v "$q-static" >/dev/null; then runner=("$q-static")
    elif command -v "$q" >/dev/null; then runner=("$q")
    else echo "  (not run: no $q on this machine)"; return 0
    fi
  fi
  local out; out="$("${runner[@]}" "$bin" version --json)" || die "$bin version failed"
  local want
  for want in "\"version\": \"$version\"" "\"commit\": \"${commit%-dirty}\"" "\"build_date\": \"$build_date\"" \
    "\"goos\": \"linux\"" "\"goarch\": \"$arch\"" ${arm:+"\"goarm\": \"$arm\""}; do
    grep -qF "$want" <<<"$out" || die "$bin version --json lacks $want; it says: $out"
  done
  echo "  $(basename "$bin"): kerf version OK${runner[*]:+ (under ${runner[*]})}"
}
echo "smoke test"
for t in "${targets[@]}"; do
  IFS=/ read -r os arch arm <<<"$t"
  smoke "$tmp/out/kerf-$version-$os-$arch${arm:+v$arm}" "$arch" "$arm"
done
for b in "$tmp/out"/kerf-*-linux-*; do
  go version -m "$b" | grep -q 'CGO_ENABLED=0' || die "$b was not built with CGO_ENABLED=0"
done

rm -rf "$dist"
mkdir -p "$dist"
cp "$tmp/out"/* "$dist/"
echo "dist/:"
(cd "$dist" && ls -l && cat SHA256SUMS)
