/* CPU-heavy work off the event loop: run(arg) on a small shared thread pool, then
 * done(arg) back on the submitting worker's event loop. Used for body parsing of large
 * pushes and for the rota planner, so no loop stalls while they compute. */
#ifndef MATD_OFFLOAD_H
#define MATD_OFFLOAD_H
#include <stdbool.h>

struct event_base;

/* Starts nthreads pool threads (call once before workers start). */
void offload_start(int nthreads);
/* Stops the pool after finishing queued tasks. */
void offload_stop(void);
/* True when a task submitted now would start at once (a thread is free, none waiting). */
bool offload_idle(void);
/* Tasks waiting for a thread before offload_submit refuses (default 256). */
void offload_set_queue_max(int max);
/* Queues run(arg) on the pool; done(arg) later runs on base's loop thread (done NULL:
 * nothing is handed back, base is unused, and run owns arg to the end). Returns -1
 * (and queues nothing) when offload_set_queue_max tasks are already waiting or the pool
 * is stopping. */
int offload_submit(struct event_base *base, void (*run)(void *arg), void (*done)(void *arg),
                   void *arg);

#endif
