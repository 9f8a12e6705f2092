/* Linux scheduling hints for matd's own threads. Neither needs a privilege: lowering one's
 * own priority is always allowed, and a fair-class thread may ask for a shorter slice. A
 * refused call (an older kernel, a seccomp filter) leaves the thread as it was. */
#include "cpu_priority.h"

#include <errno.h>
#include <sched.h>
#include <stdint.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "log.h"

#define REQUEST_SLICE_NS 100000u /* the kernel's shortest (0.1 ms) */
#define BACKGROUND_NICE 10

#if defined(__linux__) && defined(SYS_sched_setattr)
/* struct sched_attr, first version (48 bytes), as sched_setattr(2) gives it. */
struct thread_sched_attr {
    uint32_t size;
    uint32_t policy;
    uint64_t flags;
    int32_t nice;
    uint32_t priority;
    uint64_t runtime; /* for SCHED_OTHER since Linux 6.12: the slice asked for */
    uint64_t deadline;
    uint64_t period;
};
#endif

void cpu_priority_latency_sensitive(void)
{
#if defined(__linux__) && defined(SYS_sched_setattr)
    errno = 0;
    int nice = getpriority(PRIO_PROCESS, (id_t)syscall(SYS_gettid));
    if (errno != 0)
        nice = 0;
    struct thread_sched_attr a = {
        .size = sizeof a, .policy = SCHED_OTHER, .nice = nice, .runtime = REQUEST_SLICE_NS};
    if (syscall(SYS_sched_setattr, 0, &a, 0) != 0)
        log_debug("msg=\"cpu priority: no short time slice for the loop\" error=\"%s\"",
                  strerror(errno));
#endif
}

/* Not SCHED_IDLE: a thread of that class waits for a core as long as any other thread wants
 * one, so a loop freeing memory of its malloc arena, or taking its lane's lock, could wait
 * behind it for a second under load; nice 10 bounds that wait and measured as well
 * (docs/performance.md). */
void cpu_priority_background(void)
{
#ifdef __linux__
    /* A thread's own nice value (Linux schedules threads apart). */
    if (setpriority(PRIO_PROCESS, (id_t)syscall(SYS_gettid), BACKGROUND_NICE) != 0)
        log_warn("msg=\"cpu priority: cannot lower the bulk threads' priority\"");
#endif
}
