# Sourced by images/build and images/cross-build: fetching Debian packages for any
# architecture without touching the host's apt or dpkg configuration.
#
# The caller sets CACHE (the cache directory) and defines log, die and offline (the last
# exits with status 3, "Debian packages could not be fetched").
#
# Each architecture gets its own apt state under the cache (lists, sources), so building
# for arm64 on an amd64 machine needs neither `dpkg --add-architecture` nor any change to
# the host's apt configuration, and the host's extra (non-Debian) sources play no part.

debian_suite() {
  if [ -n "${BERTH_DEBIAN_SUITE:-}" ]; then echo "$BERTH_DEBIAN_SUITE"; return; fi
  local codename
  codename=$(. /etc/os-release 2>/dev/null && echo "${VERSION_CODENAME:-}")
  echo "${codename:-bookworm}"
}

# apt_cmd ARCH apt-get|apt-cache ARGS...: runs apt with ARCH's private state.
apt_cmd() {
  local arch=$1 tool=$2
  shift 2
  local dir=$CACHE/apt/$arch
  local opts=(
    -o "Dir::State::Lists=$dir/lists" -o "Dir::Cache=$dir/cache"
    -o "Dir::Etc::SourceList=$dir/sources.list" -o "Dir::Etc::SourceParts=$dir/sources.list.d"
    -o "Dir::State::status=$dir/status"
    # Docker-style images turn apt's binary cache off; without it every query re-parses
    # the package lists (about a second each).
    -o "Dir::Cache::pkgcache=pkgcache.bin" -o "Dir::Cache::srcpkgcache="
    -o "APT::Architecture=$arch" -o "APT::Architectures::=$arch"
    -o "Acquire::Languages=none" -q
  )
  # As root apt drops to the _apt user, which cannot write into the caller's cache.
  [ "$(id -u)" != 0 ] || opts+=(-o "APT::Sandbox::User=root")
  "$tool" "${opts[@]}" "$@"
}

# Creates ARCH's apt state if needed and refreshes its package lists when they are older
# than BERTH_APT_MAX_AGE. Stale lists are used (with a warning) when the refresh fails.
apt_prepare() {
  local arch=$1
  local dir=$CACHE/apt/$arch
  local mirror=${BERTH_DEBIAN_MIRROR:-http://deb.debian.org/debian}
  local security=${BERTH_DEBIAN_SECURITY_MIRROR:-http://deb.debian.org/debian-security}
  local suite keyring=/usr/share/keyrings/debian-archive-keyring.gpg
  suite=$(debian_suite)
  [ -f "$keyring" ] || die "$keyring is missing (Debian package debian-archive-keyring)"
  mkdir -p "$dir/lists/partial" "$dir/cache/archives/partial" "$dir/sources.list.d"
  [ -f "$dir/status" ] || : >"$dir/status"  # nothing is installed in this apt state
  cat >"$dir/sources.list" <<EOF
deb [signed-by=$keyring] $mirror $suite main
deb [signed-by=$keyring] $mirror $suite-updates main
deb [signed-by=$keyring] $security $suite-security main
EOF
  local stamp=$dir/lists/.berth-updated max_age=${BERTH_APT_MAX_AGE:-86400}
  if [ -f "$stamp" ] && [ $(($(date +%s) - $(stat -c %Y "$stamp"))) -lt "$max_age" ]; then
    return
  fi
  log "updating Debian $suite package lists for $arch"
  if apt_cmd "$arch" apt-get update >"$dir/update.log" 2>&1 && ! grep -q '^[WE]:' "$dir/update.log"; then
    touch "$stamp"
  elif [ -f "$stamp" ]; then
    log "warning: could not refresh the $arch package lists (see $dir/update.log); using the old ones"
  else
    offline "apt-get update for $arch failed: $(grep -m1 '^[WE]:' "$dir/update.log" || tail -n1 "$dir/update.log")"
  fi
}

# deb_field ARCH PACKAGE FIELD: prints FIELD of the candidate version of PACKAGE.
deb_field() {
  apt_cmd "$1" apt-cache show --no-all-versions "$2" 2>/dev/null |
    sed -n "s/^$3: //p" | head -n1
}

# fetch_debs ARCH PACKAGE...: prints the paths of the cached .debs of the packages'
# candidate versions, downloading those not in the cache yet. Cached files are named as
# in the Debian pool, so a new version in the archive is a new file.
fetch_debs() {
  local arch=$1
  shift
  local debs=$CACHE/debs/$arch pkg version filename found=()
  mkdir -p "$debs"
  # One apt-cache call for all packages: "package version pool-filename" per line.
  while read -r pkg version filename; do
    found+=("$pkg")
    local deb=$debs/${filename##*/}
    if [ ! -s "$deb" ]; then
      log "downloading $pkg $version ($arch)"
      local tmp why
      tmp=$(mktemp -d "$debs/.download.XXXXXX")
      if ! (cd "$tmp" && apt_cmd "$arch" apt-get download "$pkg=$version") >"$tmp/log" 2>&1; then
        why=$(grep -m1 '^[WE]:' "$tmp/log" || tail -n1 "$tmp/log")
        rm -rf "$tmp"
        offline "apt-get download $pkg ($arch) failed: $why"
      fi
      mv "$tmp"/*.deb "$deb"
      rm -rf "$tmp"
    fi
    echo "$deb"
  done < <(apt_cmd "$arch" apt-cache show --no-all-versions "$@" 2>/dev/null | awk '
    /^Package: / { pkg = $2 } /^Version: / { ver = $2 } /^Filename: / { file = $2 }
    /^$/ { if (pkg != "") print pkg, ver, file; pkg = "" }
    END { if (pkg != "") print pkg, ver, file }')
  [ ${#found[@]} -eq $# ] || die "Debian $(debian_suite) lacks some of these packages for $arch: $*"
}

# deb_lib_depends ARCH PACKAGE: the library packages PACKAGE depends on (one level).
deb_lib_depends() {
  { deb_field "$1" "$2" Pre-Depends; deb_field "$1" "$2" Depends; } |
    tr ',' '\n' | sed 's/^ *//; s/[ :].*//' | grep '^lib' | sort -u
}
