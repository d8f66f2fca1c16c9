#!/usr/bin/env bash
# Rebuild fuse-native from source with one fix: its utimens passes the access time twice
# (fuse-native.c: FUSE_UINT64_TO_INTS_ARGV(l->atime, 5)), so no program can set a file's
# mtime through the mount (rsync -a, tar, cp -a). node-gyp-build then loads
# build/Release/fuse.node before the prebuilt one. Never fails the caller: on a problem it
# prints one line and exits 0 (mtimes set through the mount then follow the access time).
dir="$(dirname "$0")/../node_modules/fuse-native"
cd "$dir" 2>/dev/null || exit 0
if ! grep -q 'FUSE_UINT64_TO_INTS_ARGV(l->atime, 5)' fuse-native.c; then
  [ -f build/Release/fuse.node ] && echo "patch-fuse-native: already patched" && exit 0
  echo "patch-fuse-native: fuse-native.c changed upstream; not patching" && exit 0
fi
gyp="$(dirname "$(command -v npm)")/../lib/node_modules/npm/node_modules/node-gyp/bin/node-gyp.js"
[ -f "$gyp" ] || gyp="$(npm root -g 2>/dev/null)/npm/node_modules/node-gyp/bin/node-gyp.js"
nodedir=()
prefix="$(dirname "$(dirname "$(command -v node)")")"
[ -f "$prefix/include/node/node_api.h" ] && nodedir=(--nodedir="$prefix")
cp fuse-native.c fuse-native.c.orig
sed -i 's/FUSE_UINT64_TO_INTS_ARGV(l->atime, 5)/FUSE_UINT64_TO_INTS_ARGV(l->mtime, 5)/' fuse-native.c
log=$(mktemp)
if [ -f "$gyp" ] && node "$gyp" rebuild "${nodedir[@]}" >"$log" 2>&1; then
  echo "patch-fuse-native: rebuilt fuse-native with the utimens fix"
else
  mv fuse-native.c.orig fuse-native.c
  rm -rf build
  echo "patch-fuse-native: could not rebuild fuse-native (see node-gyp rebuild in node_modules/fuse-native); mtimes set through the mount will follow the access time"
fi
rm -f "$log" fuse-native.c.orig
exit 0
