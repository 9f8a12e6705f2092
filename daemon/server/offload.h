/* CPU-heavy work off the event loop: run(arg) on a small thread pool, then done(arg) back on
 * the submitting worker's event loop, so no loop stalls while it computes. Two lanes:
 * OFFLOAD_NOW for work a reader is waiting for (a priorities computation, a view, a rota
 * plan), OFFLOAD_BULK for the work of uploads and caches (a push's hashing and parsing,
 * compression), whose threads run at a lower CPU priority (nice +10): a school's upload
 * then never takes a core from the loops or from a CEO's cold list, and never queues in
 * front of it. */
#ifndef MATD_OFFLOAD_H
#define MATD_OFFLOAD_H
#include <stdbool.h>

struct event_base;

enum offload_lane { OFFLOAD_NOW, OFFLOAD_BULK };

/* Starts nthreads threads for each lane (call once before workers start). */
void offload_start(int nthreads);
/* Stops both lanes after finishing queued tasks. */
void offload_stop(void);
/* True when a task submitted now to lane would start at once (a thread free, none waiting). */
bool offload_idle(enum offload_lane lane);
/* Tasks waiting for a thread in each lane before offload_submit refuses (default 256). */
void offload_set_queue_max(int max);
/* Queues run(arg) on lane; done(arg) later runs on base's loop thread (done NULL: nothing is
 * handed back, base is unused, and run owns arg to the end). Returns -1 (and queues
 * nothing) when offload_set_queue_max tasks are already waiting or the pool is stopping. */
int offload_submit(enum offload_lane lane, struct event_base *base, void (*run)(void *arg),
                   void (*done)(void *arg), void *arg);

#endif
