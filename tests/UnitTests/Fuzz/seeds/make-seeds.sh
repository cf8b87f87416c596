#!/bin/sh
# Rebuilds the QEMU-made seed images of the mutation fuzzer (tests/UnitTests/Fuzz) with the installed qemu-img and
# qemu-io (7.2). Small on purpose: 64 KiB to 1 MiB virtual, 512 B to 64 KiB clusters, a few KiB to a few hundred KiB
# on disk. Run from this folder; the images are checked in so the fuzzer has QEMU's layouts without QEMU installed.
set -e
mk() { rm -f "$1"; qemu-img create -q -f qcow2 -o "$2" "$1" "$3"; }
io() { f=$1; shift; for c in "$@"; do qemu-io -f qcow2 -c "$c" "$f" >/dev/null; done; }

mk qemu-512b-1m.qcow2 cluster_size=512 1M
io qemu-512b-1m.qcow2 "write -P 0x11 0 4k" "write -P 0x22 512k 3k" "write -z 8k 2k"

mk qemu-4k-snap-bitmap.qcow2 cluster_size=4k 256k
io qemu-4k-snap-bitmap.qcow2 "write -P 0x33 0 16k" "write -c -P 0x44 64k 4k"
qemu-img snapshot -c s1 qemu-4k-snap-bitmap.qcow2
io qemu-4k-snap-bitmap.qcow2 "write -P 0x55 4k 8k"
qemu-img bitmap --add qemu-4k-snap-bitmap.qcow2 b0

mk qemu-1k-refbits1.qcow2 cluster_size=1k,refcount_bits=1 128k
io qemu-1k-refbits1.qcow2 "write -P 0x66 0 5k" "write -P 0x67 100k 1k"

mk qemu-2k-refbits64-lazy.qcow2 cluster_size=2k,refcount_bits=64,lazy_refcounts=on 512k
io qemu-2k-refbits64-lazy.qcow2 "write -P 0x77 2k 6k"
qemu-img snapshot -c a qemu-2k-refbits64-lazy.qcow2
qemu-img snapshot -c b qemu-2k-refbits64-lazy.qcow2
io qemu-2k-refbits64-lazy.qcow2 "write -P 0x78 4k 2k"

mk qemu-v2-512b.qcow2 compat=0.10,cluster_size=512 64k
io qemu-v2-512b.qcow2 "write -P 0x99 0 2k" "write -P 0x9a 60k 512"
qemu-img snapshot -c old qemu-v2-512b.qcow2

mk qemu-64k-1m.qcow2 cluster_size=64k 1M
io qemu-64k-1m.qcow2 "write -P 0xaa 0 64k" "write -c -P 0xbb 512k 64k"
