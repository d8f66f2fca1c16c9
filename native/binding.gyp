# node-gyp build of the libfuse3 low-level binding (scripts/build-native.sh runs it).
{
  "targets": [{
    "target_name": "megafs_fuse",
    "sources": ["megafs_fuse.c"],
    "cflags": ["-O2", "-Wall", "-Wno-unused-parameter", "<!@(pkg-config --cflags fuse3)"],
    "libraries": ["<!@(pkg-config --libs fuse3)"]
  }]
}
