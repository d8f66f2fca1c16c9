#!/usr/bin/env bash
# Build native/: the libfuse3 binding (native/build/Release/megafs_fuse.node) and the
# data path's helpers: in-place crypto, huge-page buffers, page-cache reads
# (native/data/build/Release/megafs_data.node).
# Never fails the caller: on any problem it prints one line per module and exits 0; megafs
# then mounts with fuse-native, and seals and reads with node:crypto and node:fs.
cd "$(dirname "$0")/../native" || exit 0
log=$(mktemp)
gyp="$(dirname "$(command -v npm)")/../lib/node_modules/npm/node_modules/node-gyp/bin/node-gyp.js"
[ -f "$gyp" ] || gyp="$(npm root -g 2>/dev/null)/npm/node_modules/node-gyp/bin/node-gyp.js"
nodedir=()
# Prefer the headers that came with this node (no download) when they are installed.
prefix="$(dirname "$(dirname "$(command -v node)")")"
[ -f "$prefix/include/node/node_api.h" ] && nodedir=(--nodedir="$prefix")
if ! pkg-config --exists fuse3 2>/dev/null; then
  echo "build-native: libfuse3-dev/pkg-config missing; megafs will use fuse-native (apt-get install libfuse3-dev pkg-config)"
elif [ ! -f "$gyp" ]; then
  echo "build-native: node-gyp not found; megafs will use fuse-native"
elif node "$gyp" rebuild "${nodedir[@]}" >"$log" 2>&1; then
  echo "build-native: built native/build/Release/megafs_fuse.node"
else
  echo "build-native: build failed (see: node $gyp rebuild in native/); megafs will use fuse-native"
fi
if [ ! -f "$gyp" ]; then
  echo "build-native: node-gyp not found; megafs will use node:crypto"
elif (cd data && node "$gyp" rebuild "${nodedir[@]}") >"$log" 2>&1; then
  echo "build-native: built native/data/build/Release/megafs_data.node"
else
  echo "build-native: data build failed (see: node $gyp rebuild in native/data/); megafs will use node:crypto"
fi
rm -f "$log"
exit 0
