/*
 * Loaded into the programs the tests start (LD_PRELOAD, see QemuClock.cs): a thread's CPU clock, as
 * getrusage(RUSAGE_THREAD) reports it, gains one extra second at each call. QEMU's only caller is the PBKDF2
 * benchmark of LUKS create and keyslot add (crypto/pbkdf.c): it times rounds of 2^15 iterations until one takes
 * over 500 ms, about two seconds of CPU per create here, and fails with "Unable to get accurate CPU usage" when a
 * round took under a millisecond as the kernel counts it. With this clock its first round counts as one second,
 * so it rates the host at about 32768 iterations a second, and the slots get QEMU's minimum of 1000 iterations at
 * the tests' iter-time=1. Every other call, and every other program, is unchanged.
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <stddef.h>
#include <sys/resource.h>

static __thread long extra_seconds;

int getrusage(int who, struct rusage *usage)
{
    static int (*next)(int, struct rusage *);
    if (next == NULL) {
        next = (int (*)(int, struct rusage *))dlsym(RTLD_NEXT, "getrusage");
    }
    int rc = next(who, usage);
    if (rc == 0 && who == RUSAGE_THREAD) {
        usage->ru_utime.tv_sec += ++extra_seconds;
    }
    return rc;
}
