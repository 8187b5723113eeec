#!/usr/bin/env node
'use strict';
// The `heapsnap` command of the npm package: finds the native binary that npm installed from the platform
// package (`@heapsnap/linux-x64`, ...; optionalDependencies, so only the matching one is there) with
// require.resolve, and runs it with the same arguments and inherited stdio, as esbuild's and Biome's launchers do.
// Its exit code is passed through; a signal that ends it ends this process with the same signal, and SIGINT,
// SIGTERM, SIGHUP, SIGQUIT, SIGUSR1/2 sent to this process are forwarded to it. HEAPSNAP_BINARY=PATH runs that binary
// instead; HEAPSNAP_NPM_DEBUG=1 prints the path of the binary that runs (to standard error).

const { spawn } = require('child_process');
const { PLATFORMS, SCOPE } = require('../lib/platforms.js');

function fail(msg) {
  process.stderr.write(`heapsnap (npm launcher): ${msg}\n`);
  process.exit(2);
}

function isMusl() {
  if (process.platform !== 'linux') return false;
  const report = typeof process.report?.getReport === 'function' ? process.report.getReport() : null;
  // Node's diagnostic report names the glibc version it runs with; musl builds have none.
  return report != null && report.header != null && !report.header.glibcVersionRuntime;
}

function binaryPath() {
  if (process.env.HEAPSNAP_BINARY) return process.env.HEAPSNAP_BINARY;
  const key = `${process.platform}-${process.arch}`;
  const platform = PLATFORMS[key];
  if (!platform) {
    fail(
      `no prebuilt binary for ${key} (there are: ${Object.keys(PLATFORMS).join(', ')}); ` +
        'install with `cargo install heapsnap` instead',
    );
  }
  const pkg = `${SCOPE}/${key}`;
  try {
    return require.resolve(`${pkg}/bin/${platform.exe}`);
  } catch {
    // npm skips the glibc package on musl (its `libc` field): say so rather than blame the install.
    if (platform.libc === 'glibc' && isMusl()) {
      fail(`no prebuilt binary for ${key} with musl libc; install with \`cargo install heapsnap\` instead`);
    }
    fail(
      `the package ${pkg}, which carries the binary for this platform, is not installed. It is an optional ` +
        'dependency of heapsnap: reinstall without --no-optional / --omit=optional (or with ' +
        '--include=optional), and make sure the lockfile was not written on another platform only',
    );
  }
  return undefined;
}

const bin = binaryPath();
if (process.env.HEAPSNAP_NPM_DEBUG) process.stderr.write(`heapsnap (npm launcher): running ${bin}\n`);

// The handlers go in before the spawn: a signal that arrives while the child starts is forwarded as soon as it
// exists (Node runs signal handlers from its event loop, after this synchronous code), never lost with the
// launcher dying alone and leaving the binary running.
const forwarded = ['SIGINT', 'SIGTERM', 'SIGHUP', 'SIGQUIT', 'SIGUSR1', 'SIGUSR2'].filter(
  (s) => process.platform !== 'win32' || s === 'SIGINT',
);
let child;
const forward = (signal) => {
  if (child && child.exitCode === null && child.signalCode === null) child.kill(signal);
};
for (const s of forwarded) process.on(s, forward);

child = spawn(bin, process.argv.slice(2), { stdio: 'inherit', windowsHide: true });
child.on('error', (err) => fail(`cannot run ${bin}: ${err.message}`));
child.on('exit', (code, signal) => {
  for (const s of forwarded) process.removeListener(s, forward);
  if (signal) {
    // End this process with the same signal, so that the shell (and `npx`) see what happened to heapsnap.
    process.kill(process.pid, signal);
    return;
  }
  process.exit(code ?? 1);
});
