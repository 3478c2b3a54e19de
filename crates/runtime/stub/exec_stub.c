/*
 * berth's exec stub: the first program a container runs.
 *
 * The container's init (and an `exec` helper) is a fork of berth-runtime, so
 * until it execs, its /proc/self/exe is the runtime binary on the host. If
 * the init exec'd the user's program directly, a program whose interpreter
 * is "/proc/self/exe" (a "#!/proc/self/exe" script, an ELF PT_INTERP, a
 * symlink) would make the kernel start the host's runtime binary inside the
 * container as a fresh, dumpable process: the container opens its
 * /proc/PID/exe and rewrites the runtime (CVE-2019-5736). The init execs this
 * stub instead, from a sealed memfd; the stub execs the user's program, so
 * "/proc/self/exe" at that exec names the stub's sealed copy, which nobody
 * can write.
 *
 * Built freestanding (no libc: a few hundred bytes, no dynamic loader) by
 * build.rs. The runtime calls it as
 *
 *     argv = { "berth-exec-stub:FD", PATH, ARGV0, ARGV1, ..., NULL }
 *
 * and it runs execve(PATH, &argv[2], envp). FD (or "-") is the runtime's
 * error channel, inherited without close-on-exec: the stub marks it
 * close-on-exec so that a successful exec closes it (the runtime reads EOF),
 * and on failure writes one message to it: the byte 7, the errno as 4
 * little-endian bytes, then PATH (crate::sync decodes it). fcntl, write and
 * exit_group are the only syscalls besides execve: if a seccomp profile
 * refuses fcntl, the channel is closed instead and a failure goes to
 * stderr.
 */
#include <asm/unistd.h>

#define F_SETFD 2
#define FD_CLOEXEC 1
#define TAG_EXEC_FAILED 7
#define MAGIC "berth-exec-stub:"

#if defined(__x86_64__)
__asm__(".text\n.globl _start\n_start:\n"
        "  xor %rbp, %rbp\n"
        "  mov %rsp, %rdi\n"
        "  and $-16, %rsp\n"
        "  call stub_main\n"
        "  hlt\n");

static long sys3(long n, long a, long b, long c)
{
    long ret;
    __asm__ volatile("syscall"
                     : "=a"(ret)
                     : "a"(n), "D"(a), "S"(b), "d"(c)
                     : "rcx", "r11", "memory");
    return ret;
}
#elif defined(__aarch64__)
__asm__(".text\n.globl _start\n_start:\n"
        "  mov x29, #0\n"
        "  mov x30, #0\n"
        "  mov x0, sp\n"
        "  bl stub_main\n"
        "  brk #0\n");

static long sys3(long n, long a, long b, long c)
{
    register long x8 __asm__("x8") = n;
    register long x0 __asm__("x0") = a;
    register long x1 __asm__("x1") = b;
    register long x2 __asm__("x2") = c;
    __asm__ volatile("svc 0" : "+r"(x0) : "r"(x8), "r"(x1), "r"(x2) : "memory");
    return x0;
}
#else
#error "berth's exec stub supports x86_64 and aarch64"
#endif

static void put(int fd, const char *s)
{
    long n = 0;
    while (s[n])
        n++;
    sys3(__NR_write, fd, (long)s, n);
}

static __attribute__((noreturn)) void die(int code)
{
    for (;;)
        sys3(__NR_exit_group, code, 0, 0);
}

/* The error fd from "berth-exec-stub:FD"; -1 for "-"; -2 if argv[0] is not
 * the runtime's (someone ran the stub by hand, or a script names it as its
 * interpreter: refuse rather than loop). */
static int channel(const char *arg0)
{
    const char *m = MAGIC;
    while (*m)
        if (*arg0++ != *m++)
            return -2;
    if (arg0[0] == '-' && arg0[1] == 0)
        return -1;
    int fd = 0;
    if (!*arg0)
        return -2;
    for (; *arg0; arg0++) {
        if (*arg0 < '0' || *arg0 > '9' || fd > 100000000)
            return -2;
        fd = fd * 10 + (*arg0 - '0');
    }
    return fd;
}

__attribute__((noreturn, used)) void stub_main(long *sp)
{
    long argc = sp[0];
    char **argv = (char **)(sp + 1);
    char **envp = argv + argc + 1;
    int fd = argc >= 3 ? channel(argv[0]) : -2;
    if (fd == -2) {
        put(2, "berth-exec-stub: only berth-runtime starts this program\n");
        die(126);
    }
    if (fd >= 0 && sys3(__NR_fcntl, fd, F_SETFD, FD_CLOEXEC) < 0) {
        sys3(__NR_close, fd, 0, 0);
        fd = -1;
    }
    long err = -sys3(__NR_execve, (long)argv[1], (long)(argv + 2), (long)envp);
    if (fd >= 0) {
        static char msg[4096 + 5];
        long n = 0;
        msg[n++] = TAG_EXEC_FAILED;
        for (int i = 0; i < 4; i++)
            msg[n++] = (char)(err >> (8 * i));
        for (const char *p = argv[1]; *p && n < (long)sizeof msg; p++)
            msg[n++] = *p;
        sys3(__NR_write, fd, (long)msg, n);
    } else {
        put(2, "berth-runtime: exec ");
        put(2, argv[1]);
        put(2, " failed\n");
    }
    die(127);
}
