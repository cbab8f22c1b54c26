#!/usr/bin/env bash
# tests/install_test.sh -- the installed library is usable the two ways users
# reach it: find_package(isoflow) with isoflow::isoflow, and pkg-config.
# Builds and installs isoflow (no tests, no sanitizers) into a temporary
# prefix, then builds and runs a small consumer against it each way.
set -euo pipefail
src=$2
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

cmake -S "$src" -B "$work/build" -DISOFLOW_BUILD_TESTS=OFF -DCMAKE_BUILD_TYPE=Release \
  -DCMAKE_INSTALL_PREFIX="$work/prefix" >/dev/null
cmake --build "$work/build" -j "$(nproc)" >/dev/null
cmake --install "$work/build" >/dev/null

for h in isoflow.h error.h iso8583.h; do
  [ -f "$work/prefix/include/isoflow/$h" ] || { echo "FAIL: header $h not installed"; exit 1; }
done

mkdir "$work/consumer"
cat > "$work/consumer/main.c" <<'C'
#include <isoflow/isoflow.h>
#include <stdio.h>
#include <string.h>
int main(void) {
  const iso_spec *spec = iso_spec_builtin("iso87a");
  iso_msg m;
  iso_msg_init(&m, spec);
  static const char wire[] = "0800822000000000000004000000000000000420090613900001001";
  int rc = iso_msg_unpack(&m, (const uint8_t *)wire, strlen(wire), NULL);
  char stan[8];
  size_t len;
  if (rc == 0) rc = iso_msg_get(&m, 11, stan, sizeof stan, &len);
  iso_msg_cleanup(&m);
  if (rc != 0) { printf("error %s\n", iso_err_name(rc)); return 1; }
  printf("%s\n", stan);
  return 0;
}
C
cat > "$work/consumer/CMakeLists.txt" <<'C'
cmake_minimum_required(VERSION 3.18)
project(consumer C)
find_package(isoflow REQUIRED)
add_executable(consumer main.c)
target_link_libraries(consumer PRIVATE isoflow::isoflow)
C
cmake -S "$work/consumer" -B "$work/consumer/build" -DCMAKE_PREFIX_PATH="$work/prefix" >/dev/null
cmake --build "$work/consumer/build" >/dev/null
out=$(LD_LIBRARY_PATH="$work/prefix/lib" "$work/consumer/build/consumer")
[ "$out" = "900001" ] || { echo "FAIL: find_package consumer printed '$out'"; exit 1; }

export PKG_CONFIG_PATH="$work/prefix/lib/pkgconfig"
# shellcheck disable=SC2046
cc -o "$work/consumer/pc" "$work/consumer/main.c" $(pkg-config --cflags --libs isoflow)
out=$(LD_LIBRARY_PATH="$work/prefix/lib" "$work/consumer/pc")
[ "$out" = "900001" ] || { echo "FAIL: pkg-config consumer printed '$out'"; exit 1; }
echo "install: find_package and pkg-config consumers both work"
