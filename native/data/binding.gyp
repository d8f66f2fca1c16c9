# node-gyp build of the data path's native helpers (scripts/build-native.sh runs it). It links
# nothing: the OpenSSL symbols come from the node binary that loads it.
{
  "targets": [{
    "target_name": "megafs_data",
    "sources": ["megafs_data.c"],
    "cflags": ["-O2", "-Wall", "-Wno-unused-parameter"]
  }]
}
