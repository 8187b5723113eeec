'use strict';
// The platforms heapsnap ships a binary for on npm: one package each, `@heapsnap/<key>`, listed in the
// `heapsnap` package's optionalDependencies, so npm installs only the one whose os/cpu/libc match the machine.
// Used by the launcher (bin/heapsnap.js) to find the binary and by ../../build-packages.js to write the packages.
// `key` is `${process.platform}-${process.arch}` as Node spells them.

const PLATFORMS = {
  'linux-x64': { os: 'linux', cpu: 'x64', libc: 'glibc', rustTarget: 'x86_64-unknown-linux-gnu', exe: 'heapsnap' },
  'linux-arm64': { os: 'linux', cpu: 'arm64', libc: 'glibc', rustTarget: 'aarch64-unknown-linux-gnu', exe: 'heapsnap' },
  'darwin-arm64': { os: 'darwin', cpu: 'arm64', rustTarget: 'aarch64-apple-darwin', exe: 'heapsnap' },
  'darwin-x64': { os: 'darwin', cpu: 'x64', rustTarget: 'x86_64-apple-darwin', exe: 'heapsnap' },
  'win32-x64': { os: 'win32', cpu: 'x64', rustTarget: 'x86_64-pc-windows-msvc', exe: 'heapsnap.exe' },
};

const SCOPE = '@heapsnap';

module.exports = { PLATFORMS, SCOPE };
