/* Two mutex/condvar task queues (lanes), each with its own threads; completion is handed
 * back with event_base_once, which is thread-safe once evthread_use_pthreads() is on. */
#include "offload.h"

#include <event2/event.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>

#include "cpu_priority.h"
#include "util.h"

struct task {
    struct event_base *base;
    void (*run)(void *);
    void (*done)(void *);
    void *arg;
    struct task *next;
};

struct lane {
    pthread_mutex_t lock;
    pthread_cond_t ready;
    struct task *head, *tail;
    bool stopping;
    int queued, busy;
    pthread_t *threads;
    int nthreads;
    bool background; /* its threads yield the CPU to the loops (cpu_priority.h) */
};

static struct lane lanes[2] = {
    [OFFLOAD_NOW] = {PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER},
    [OFFLOAD_BULK] = {PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, .background = true},
};
static _Atomic int queue_max = 256;

static void deliver(evutil_socket_t fd, short what, void *p)
{
    (void)fd, (void)what;
    struct task *t = p;
    t->done(t->arg);
    free(t);
}

static void *lane_main(void *p)
{
    struct lane *ln = p;
    if (ln->background)
        cpu_priority_background();
    for (;;) {
        pthread_mutex_lock(&ln->lock);
        while (!ln->head && !ln->stopping)
            pthread_cond_wait(&ln->ready, &ln->lock);
        struct task *t = ln->head;
        if (!t) {
            pthread_mutex_unlock(&ln->lock);
            return NULL;
        }
        ln->head = t->next;
        if (!ln->head)
            ln->tail = NULL;
        ln->queued--;
        ln->busy++;
        pthread_mutex_unlock(&ln->lock);
        t->run(t->arg);
        pthread_mutex_lock(&ln->lock);
        ln->busy--;
        pthread_mutex_unlock(&ln->lock);
        if (!t->done) { /* nothing to hand back */
            free(t);
            continue;
        }
        struct timeval zero = {0, 0};
        if (event_base_once(t->base, -1, EV_TIMEOUT, deliver, t, &zero) != 0)
            free(t); /* the loop is gone (shutdown): nothing to tell */
    }
}

bool offload_idle(enum offload_lane lane)
{
    struct lane *ln = &lanes[lane];
    pthread_mutex_lock(&ln->lock);
    bool idle = ln->queued == 0 && ln->busy < ln->nthreads;
    pthread_mutex_unlock(&ln->lock);
    return idle;
}

void offload_set_queue_max(int max)
{
    queue_max = max < 1 ? 1 : max;
}

void offload_start(int n)
{
    for (int l = 0; l < 2; l++) {
        struct lane *ln = &lanes[l];
        ln->stopping = false;
        ln->nthreads = n < 1 ? 1 : n;
        ln->threads = xcalloc((size_t)ln->nthreads, sizeof *ln->threads);
        for (int i = 0; i < ln->nthreads; i++)
            if (pthread_create(&ln->threads[i], NULL, lane_main, ln) != 0)
                fatal("offload: cannot start a thread");
    }
}

void offload_stop(void)
{
    for (int l = 0; l < 2; l++) {
        struct lane *ln = &lanes[l];
        pthread_mutex_lock(&ln->lock);
        ln->stopping = true;
        pthread_cond_broadcast(&ln->ready);
        pthread_mutex_unlock(&ln->lock);
        for (int i = 0; i < ln->nthreads; i++)
            pthread_join(ln->threads[i], NULL);
        free(ln->threads);
        ln->threads = NULL;
        ln->nthreads = 0;
    }
}

int offload_submit(enum offload_lane lane, struct event_base *base, void (*run)(void *),
                   void (*done)(void *), void *arg)
{
    struct lane *ln = &lanes[lane];
    pthread_mutex_lock(&ln->lock);
    if (ln->stopping || ln->queued >= queue_max) {
        pthread_mutex_unlock(&ln->lock);
        return -1;
    }
    struct task *t = xcalloc(1, sizeof *t);
    t->base = base;
    t->run = run;
    t->done = done;
    t->arg = arg;
    if (ln->tail)
        ln->tail->next = t;
    else
        ln->head = t;
    ln->tail = t;
    ln->queued++;
    pthread_cond_signal(&ln->ready);
    pthread_mutex_unlock(&ln->lock);
    return 0;
}
