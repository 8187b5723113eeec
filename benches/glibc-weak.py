#!/usr/bin/env python3
"""glibc-weak.py: make a prebuilt peer binary start on an older glibc, for benches/compare.sh.

    python3 benches/glibc-weak.py IN OUT

Copies the ELF64 executable IN to OUT and marks as weak (VER_FLG_WEAK in .gnu.version_r) every GLIBC_x.y
version it needs that is newer than this machine's glibc. The dynamic loader then only fails on a missing
version whose symbols are strong: `@heap-snapshot/tool` 0.0.10's linux-x64 binary needs GLIBC_2.39 for two weak
symbols only (`pidfd_spawnp`, `pidfd_getpid`, which Rust's std looks up and does without), so it runs on
Debian 12's glibc 2.36 unchanged otherwise. Refuses (exit 1) when a strong symbol needs such a version.
"""
import os
import shutil
import struct
import sys

SHT_DYNSYM, SHT_GNU_VERNEED, SHT_GNU_VERSYM = 11, 0x6FFFFFFE, 0x6FFFFFFF
VER_FLG_WEAK = 0x2
STB_WEAK = 2


def glibc_version(name):
    try:
        return tuple(int(x) for x in name.split('_', 1)[1].split('.'))
    except (IndexError, ValueError):
        return None


def main(src, dst):
    host = glibc_version('GLIBC_' + os.confstr('CS_GNU_LIBC_VERSION').split()[1])
    data = bytearray(open(src, 'rb').read())
    if data[:4] != b'\x7fELF' or data[4] != 2 or data[5] != 1:
        sys.exit(f'{src}: not a little-endian ELF64 file')
    shoff, = struct.unpack_from('<Q', data, 0x28)
    shentsize, shnum = struct.unpack_from('<HH', data, 0x3A)
    sections = [struct.unpack_from('<IIQQQQIIQQ', data, shoff + i * shentsize) for i in range(shnum)]

    def cstr(strtab, off):
        base = sections[strtab][4] + off
        return data[base:data.index(0, base)].decode()

    newer = {}  # version index -> name
    for s in sections:
        if s[1] != SHT_GNU_VERNEED:
            continue
        off, strtab = s[4], s[6]
        while True:
            _, cnt, _, aux, nxt = struct.unpack_from('<HHIII', data, off)
            a = off + aux
            for _ in range(cnt):
                _, flags, other, name, anext = struct.unpack_from('<IHHII', data, a)
                vname = cstr(strtab, name)
                v = glibc_version(vname) if vname.startswith('GLIBC_') else None
                if v and v > host:
                    newer[other] = vname
                    struct.pack_into('<H', data, a + 4, flags | VER_FLG_WEAK)
                a += anext
            if not nxt:
                break
            off += nxt
    # Every symbol that needs one of those versions must be weak, or the binary would call a missing function.
    dynsym = next((s for s in sections if s[1] == SHT_DYNSYM), None)
    versym = next((s for s in sections if s[1] == SHT_GNU_VERSYM), None)
    if newer and dynsym and versym:
        for i in range(dynsym[5] // 24):
            name, info = struct.unpack_from('<IB', data, dynsym[4] + 24 * i)
            ver, = struct.unpack_from('<H', data, versym[4] + 2 * i)
            if (ver & 0x7FFF) in newer and info >> 4 != STB_WEAK:
                sys.exit(f'{src}: {cstr(dynsym[6], name)} needs {newer[ver & 0x7FFF]} and is not weak')
    with open(dst, 'wb') as f:
        f.write(data)
    shutil.copymode(src, dst)
    print(f'{dst}: weak ' + (', '.join(sorted(set(newer.values()))) or 'nothing (no newer glibc version needed)'))


if __name__ == '__main__':
    if len(sys.argv) != 3:
        sys.exit('usage: glibc-weak.py IN OUT')
    main(sys.argv[1], sys.argv[2])
