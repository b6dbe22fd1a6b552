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
