#!/usr/bin/env node
'use strict';
// Writes the npm packages of one heapsnap release from its release binaries (nothing is published here):
//
//   node npm/build-packages.js --out DIR [--version X.Y.Z] PLATFORM=BINARY...
//   e.g. node npm/build-packages.js --out target/npm linux-x64=target/release/heapsnap
//
// PLATFORM is one of lib/platforms.js' keys (linux-x64, linux-arm64, darwin-arm64, darwin-x64, win32-x64) and
// BINARY that platform's `cargo build --release` output; the binary's header (ELF / Mach-O / PE and its machine)
// must match the platform. Writes DIR/heapsnap (the launcher package, from npm/heapsnap/, its optionalDependencies
// pinned to the version) and DIR/@heapsnap/PLATFORM for each binary given; then `npm pack` / `npm publish` each
// directory. The version defaults to the one in Cargo.toml. .github/workflows/release.yml runs it with all five.

const fs = require('fs');
const path = require('path');
const { PLATFORMS, SCOPE } = require('./heapsnap/lib/platforms.js');

const here = __dirname;
const repo = path.resolve(here, '..');

function die(msg) {
  process.stderr.write(`build-packages: ${msg}\n`);
  process.exit(2);
}

function cargoVersion() {
  const toml = fs.readFileSync(path.join(repo, 'Cargo.toml'), 'utf8');
  const pkg = toml.split(/^\[/m).find((s) => s.startsWith('package]'));
  const m = pkg && pkg.match(/^version\s*=\s*"([^"]+)"/m);
  if (!m) die('no version in the [package] section of Cargo.toml');
  return m[1];
}

// What the executable's header says it is: { format, machine }.
function binaryKind(file) {
  const fd = fs.openSync(file, 'r');
  const head = Buffer.alloc(4096);
  const n = fs.readSync(fd, head, 0, head.length, 0);
  fs.closeSync(fd);
  const b = head.subarray(0, n);
  if (n >= 20 && b.readUInt32BE(0) === 0x7f454c46) {
    const machine = b[5] === 2 ? b.readUInt16BE(18) : b.readUInt16LE(18);
    return { format: 'elf', machine: { 0x3e: 'x64', 0xb7: 'arm64' }[machine] || `e_machine ${machine}` };
  }
  if (n >= 8 && b.readUInt32LE(0) === 0xfeedfacf) {
    const cpu = b.readUInt32LE(4);
    return { format: 'macho', machine: { 0x01000007: 'x64', 0x0100000c: 'arm64' }[cpu] || `cputype ${cpu}` };
  }
  if (n >= 64 && b.toString('latin1', 0, 2) === 'MZ') {
    const pe = b.readUInt32LE(0x3c);
    if (pe + 6 <= n && b.toString('latin1', pe, pe + 4) === 'PE\0\0') {
      const machine = b.readUInt16LE(pe + 4);
      return { format: 'pe', machine: { 0x8664: 'x64', 0xaa64: 'arm64' }[machine] || `machine ${machine}` };
    }
  }
  return { format: 'unknown', machine: 'unknown' };
}

const FORMAT = { linux: 'elf', darwin: 'macho', win32: 'pe' };

function writeJson(file, value) {
  fs.writeFileSync(file, JSON.stringify(value, null, 2) + '\n');
}

function copyLicenses(dir) {
  for (const f of ['LICENSE-MIT', 'LICENSE-APACHE']) fs.copyFileSync(path.join(repo, f), path.join(dir, f));
}

function main(argv) {
  let out;
  let version;
  const binaries = [];
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '--out') out = argv[++i];
    else if (a === '--version') version = argv[++i];
    else if (/^[a-z0-9]+-[a-z0-9]+=/.test(a)) binaries.push(a.split(/=(.*)/s).slice(0, 2));
    else die(`unexpected argument ${JSON.stringify(a)}; usage: build-packages.js --out DIR [--version X.Y.Z] PLATFORM=BINARY...`);
  }
  if (!out) die('--out DIR is required');
  if (binaries.length === 0) die(`give at least one PLATFORM=BINARY (platforms: ${Object.keys(PLATFORMS).join(', ')})`);
  version = version || cargoVersion();
  if (!/^\d+\.\d+\.\d+(-[0-9A-Za-z.-]+)?$/.test(version)) die(`version ${version} is not semver`);

  const template = JSON.parse(fs.readFileSync(path.join(here, 'heapsnap', 'package.json'), 'utf8'));
  const meta = {
    homepage: template.homepage,
    repository: template.repository,
    license: template.license,
  };

  for (const [key, bin] of binaries) {
    const p = PLATFORMS[key];
    if (!p) die(`unknown platform ${key} (platforms: ${Object.keys(PLATFORMS).join(', ')})`);
    if (!fs.existsSync(bin) || !fs.statSync(bin).isFile()) die(`${key}: binary ${bin} does not exist`);
    const kind = binaryKind(bin);
    if (kind.format !== FORMAT[p.os] || kind.machine !== p.cpu) {
      die(`${key}: ${bin} is a ${kind.format} ${kind.machine} executable, not ${FORMAT[p.os]} ${p.cpu}`);
    }
    const dir = path.join(out, SCOPE, key);
    fs.rmSync(dir, { recursive: true, force: true });
    fs.mkdirSync(path.join(dir, 'bin'), { recursive: true });
    const dest = path.join(dir, 'bin', p.exe);
    fs.copyFileSync(bin, dest);
    fs.chmodSync(dest, 0o755);
    const pkg = {
      name: `${SCOPE}/${key}`,
      version,
      description: `The ${key} binary of heapsnap (installed by the heapsnap package; use that one)`,
      ...meta,
      repository: { ...meta.repository, directory: 'npm' },
      os: [p.os],
      cpu: [p.cpu],
      ...(p.libc ? { libc: [p.libc] } : {}),
      files: [`bin/${p.exe}`, 'LICENSE-MIT', 'LICENSE-APACHE'],
      preferUnplugged: true,
    };
    writeJson(path.join(dir, 'package.json'), pkg);
    fs.writeFileSync(
      path.join(dir, 'README.md'),
      `# ${pkg.name}\n\nThe \`${p.rustTarget}\` binary of [heapsnap](${meta.homepage}). Install \`heapsnap\`, not this package.\n`,
    );
    copyLicenses(dir);
    process.stdout.write(`${dir}\n`);
  }

  const main = path.join(out, 'heapsnap');
  fs.rmSync(main, { recursive: true, force: true });
  fs.mkdirSync(path.join(main, 'bin'), { recursive: true });
  fs.mkdirSync(path.join(main, 'lib'), { recursive: true });
  for (const f of ['bin/heapsnap.js', 'lib/platforms.js', 'README.md']) {
    fs.copyFileSync(path.join(here, 'heapsnap', f), path.join(main, f));
  }
  fs.chmodSync(path.join(main, 'bin', 'heapsnap.js'), 0o755);
  copyLicenses(main);
  const pkg = { ...template, version };
  pkg.optionalDependencies = Object.fromEntries(Object.keys(PLATFORMS).map((k) => [`${SCOPE}/${k}`, version]));
  writeJson(path.join(main, 'package.json'), pkg);
  process.stdout.write(`${main}\n`);
}

main(process.argv.slice(2));
