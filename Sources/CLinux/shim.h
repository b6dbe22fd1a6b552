// Linux interfaces that Swift's Glibc module does not export.
#include <malloc.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/signalfd.h>
#include <sys/timerfd.h>
#include <sys/socket.h>
extern int accept4(int, struct sockaddr *, socklen_t *, int);
#include <unistd.h>
#include <sys/syscall.h>
#include <sys/resource.h>
/// The calling thread's kernel id (for per-thread priority with setpriority).
static inline int clinux_gettid(void) { return (int)syscall(SYS_gettid); }
#include <sys/prctl.h>
/// Names the calling thread (shown by top -H, perf and /proc/self/task/*/stat).
static inline void clinux_set_thread_name(const char *name) { prctl(PR_SET_NAME, name, 0, 0, 0); }
#include <stdint.h>
#include <string.h>
/// CRC-32C (Castagnoli, reflected polynomial 0x82F63B78) of `n` bytes, continuing from `crc` (the
/// register: pass ~0 first, complement at the end). Bit by bit: the portable path, and the answer the
/// SSE4.2 instruction below is checked against.
static inline uint32_t clinux_crc32c_sw(uint32_t crc, const void *data, size_t n) {
    const uint8_t *p = (const uint8_t *)data;
    while (n--) {
        crc ^= *p++;
        for (int k = 0; k < 8; k++) crc = (crc >> 1) ^ (0x82F63B78u & (0u - (crc & 1u)));
    }
    return crc;
}
#if defined(__x86_64__)
#include <cpuid.h>
/// The same with SSE4.2's crc32 instruction, 8 bytes a step (~8 GB/s here; zlib's CRC-32 ~2 GB/s).
__attribute__((target("sse4.2")))
static inline uint32_t clinux_crc32c_hw(uint32_t crc, const void *data, size_t n) {
    const uint8_t *p = (const uint8_t *)data;
    uint64_t c = crc;
    while (n >= 8) { uint64_t w; memcpy(&w, p, 8); c = __builtin_ia32_crc32di(c, w); p += 8; n -= 8; }
    uint32_t c32 = (uint32_t)c;
    while (n--) c32 = __builtin_ia32_crc32qi(c32, *p++);
    return c32;
}
/// Whether this CPU has SSE4.2 (CPUID leaf 1, ECX bit 20).
static inline int clinux_has_sse42(void) {
    unsigned a, b, c, d;
    return __get_cpuid(1, &a, &b, &c, &d) && (c & (1u << 20)) != 0;
}
#else
static inline uint32_t clinux_crc32c_hw(uint32_t crc, const void *data, size_t n) { return clinux_crc32c_sw(crc, data, n); }
static inline int clinux_has_sse42(void) { return 0; }
#endif
/// Asks for the cache line holding `p` ahead of a read (a hint: nothing is read, nothing can fault).
static inline void clinux_prefetch(const void *p) { __builtin_prefetch(p, 0, 3); }
#include <fcntl.h>
/// sync_file_range(2) and its flags (glibc declares them only under _GNU_SOURCE).
extern int sync_file_range(int fd, long long offset, long long nbytes, unsigned int flags);
#define CLINUX_SYNC_FILE_RANGE_WAIT_BEFORE 1
#define CLINUX_SYNC_FILE_RANGE_WRITE 2
#define CLINUX_SYNC_FILE_RANGE_WAIT_AFTER 4
#include <stddef.h>
/// memmem(3) (glibc declares it only under _GNU_SOURCE): a substring search for the evaluators.
extern void *memmem(const void *haystack, size_t haystacklen, const void *needle, size_t needlelen);
#include <stdlib.h>
/// Pseudo-terminals (glibc declares these only under _XOPEN_SOURCE): the dashboard benchmark opens
/// one to run tracectl dash in.
extern int posix_openpt(int flags);
extern int grantpt(int fd);
extern int unlockpt(int fd);
extern char *ptsname(int fd);
