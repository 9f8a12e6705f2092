/* A mutex/condvar task queue; completion is handed back with event_base_once, which is
 * thread-safe once evthread_use_pthreads() is on. */
#include "offload.h"

#include <event2/event.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>

#include "util.h"

struct task {
    struct event_base *base;
    void (*run)(void *);
    void (*done)(void *);
    void *arg;
    struct task *next;
};

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t ready = PTHREAD_COND_INITIALIZER;
static struct task *head, *tail;
static bool stopping;
static int queued, queue_max = 256, busy;
static pthread_t *threads;
static int nthreads;

static void deliver(evutil_socket_t fd, short what, void *p)
{
    (void)fd, (void)what;
    struct task *t = p;
    t->done(t->arg);
    free(t);
}

static void *pool_main(void *unused)
{
    (void)unused;
    for (;;) {
        pthread_mutex_lock(&lock);
        while (!head && !stopping)
            pthread_cond_wait(&ready, &lock);
        struct task *t = head;
        if (!t) {
            pthread_mutex_unlock(&lock);
            return NULL;
        }
        head = t->next;
        if (!head)
            tail = NULL;
        queued--;
        busy++;
        pthread_mutex_unlock(&lock);
        t->run(t->arg);
        pthread_mutex_lock(&lock);
        busy--;
        pthread_mutex_unlock(&lock);
        if (!t->done) { /* nothing to hand back */
            free(t);
            continue;
        }
        struct timeval zero = {0, 0};
        if (event_base_once(t->base, -1, EV_TIMEOUT, deliver, t, &zero) != 0)
            free(t); /* the loop is gone (shutdown): nothing to tell */
    }
}

bool offload_idle(void)
{
    pthread_mutex_lock(&lock);
    bool idle = queued == 0 && busy < nthreads;
    pthread_mutex_unlock(&lock);
    return idle;
}

void offload_set_queue_max(int max)
{
    pthread_mutex_lock(&lock);
    queue_max = max < 1 ? 1 : max;
    pthread_mutex_unlock(&lock);
}

void offload_start(int n)
{
    nthreads = n < 1 ? 1 : n;
    threads = xcalloc((size_t)nthreads, sizeof *threads);
    for (int i = 0; i < nthreads; i++)
        if (pthread_create(&threads[i], NULL, pool_main, NULL) != 0)
            fatal("offload: cannot start a thread");
}

void offload_stop(void)
{
    pthread_mutex_lock(&lock);
    stopping = true;
    pthread_cond_broadcast(&ready);
    pthread_mutex_unlock(&lock);
    for (int i = 0; i < nthreads; i++)
        pthread_join(threads[i], NULL);
    free(threads);
    threads = NULL;
    nthreads = 0;
}

int offload_submit(struct event_base *base, void (*run)(void *), void (*done)(void *), void *arg)
{
    pthread_mutex_lock(&lock);
    if (stopping || queued >= queue_max) {
        pthread_mutex_unlock(&lock);
        return -1;
    }
    struct task *t = xcalloc(1, sizeof *t);
    t->base = base;
    t->run = run;
    t->done = done;
    t->arg = arg;
    if (tail)
        tail->next = t;
    else
        head = t;
    tail = t;
    queued++;
    pthread_cond_signal(&ready);
    pthread_mutex_unlock(&lock);
    return 0;
}
