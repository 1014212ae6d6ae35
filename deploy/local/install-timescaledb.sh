#!/usr/bin/env bash
# Builds the Apache-2 edition of TimescaleDB from Debian 13's source package and installs it into the
# machine's PostgreSQL (default 15). Debian 12 ships no TimescaleDB binary (see ../../../shared/STACK.md).
#
# The Debian 13 source list is read through a private apt configuration under the cache folder, so the
# machine's own apt sources are never touched. Idempotent: exits at once when the extension is installed.
#
# Needs: root (it installs into PostgreSQL's lib and share folders), cmake, gcc, postgresql-server-dev-$PG_MAJOR.
set -euo pipefail

PG_MAJOR="${PG_MAJOR:-15}"
PG_CONFIG="${PG_CONFIG:-/usr/lib/postgresql/${PG_MAJOR}/bin/pg_config}"
CACHE="${CARDIO_CACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/cardiorehab}/timescaledb"
SUITE="${TSDB_DEBIAN_SUITE:-trixie}"
MIRROR="${TSDB_DEBIAN_MIRROR:-http://deb.debian.org/debian}"

if [[ ! -x "$PG_CONFIG" ]]; then
  echo "install-timescaledb: $PG_CONFIG not found; install postgresql-${PG_MAJOR} and postgresql-server-dev-${PG_MAJOR} first" >&2
  exit 1
fi
pkglibdir="$("$PG_CONFIG" --pkglibdir)"
sharedir="$("$PG_CONFIG" --sharedir)"
if [[ -f "$pkglibdir/timescaledb.so" && -f "$sharedir/extension/timescaledb.control" ]]; then
  echo "install-timescaledb: already installed in $pkglibdir"
  exit 0
fi
if [[ ! -f "$("$PG_CONFIG" --includedir-server)/postgres.h" ]]; then
  echo "install-timescaledb: PostgreSQL server headers missing; apt-get install postgresql-server-dev-${PG_MAJOR}" >&2
  exit 1
fi
command -v cmake >/dev/null || { echo "install-timescaledb: cmake missing; apt-get install cmake" >&2; exit 1; }

mkdir -p "$CACHE/lists/partial"
echo "deb-src $MIRROR $SUITE main" > "$CACHE/sources.list"
apt_opts=(-o "Dir::Etc::SourceList=$CACHE/sources.list" -o "Dir::Etc::SourceParts=/dev/null"
          -o "Dir::State::Lists=$CACHE/lists" -o "APT::Sandbox::User=root")
cd "$CACHE"
if ! ls timescaledb_*.orig.tar.* >/dev/null 2>&1; then
  echo "install-timescaledb: fetching the timescaledb source package from Debian $SUITE"
  apt-get "${apt_opts[@]}" -qq update
  apt-get "${apt_opts[@]}" -qq source --download-only timescaledb
fi
orig="$(ls timescaledb_*.orig.tar.* | sort -V | tail -n 1)"
rm -rf src && mkdir src && tar -xf "$orig" -C src --strip-components=1
cd src
echo "install-timescaledb: building $(basename "$orig") (Apache-2 edition) against PostgreSQL ${PG_MAJOR}"
./bootstrap -DREGRESS_CHECKS=OFF -DTAP_CHECKS=OFF -DWARNINGS_AS_ERRORS=OFF -DAPACHE_ONLY=ON \
  -DPG_CONFIG="$PG_CONFIG" >"$CACHE/bootstrap.log" 2>&1 || { tail -n 30 "$CACHE/bootstrap.log" >&2; exit 1; }
make -C build -j"$(nproc)" install >"$CACHE/build.log" 2>&1 || { tail -n 30 "$CACHE/build.log" >&2; exit 1; }
echo "install-timescaledb: installed $(ls "$pkglibdir"/timescaledb-*.so | xargs -n1 basename | tr '\n' ' ')"
