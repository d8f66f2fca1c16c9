# node-gyp build of the in-place crypto module (scripts/build-native.sh runs it). It links
# nothing: the OpenSSL symbols come from the node binary that loads it.
{
  "targets": [{
    "target_name": "megafs_crypto",
    "sources": ["megafs_crypto.c"],
    "cflags": ["-O2", "-Wall", "-Wno-unused-parameter"]
  }]
}
