/* Log lines through per-thread rings to one writer thread (log_writer.h).
 *
 * A thread's first line allocates its ring and links it into the list; later lines are a
 * copy into the ring and, for the first line since the writer last looked, a wake-up. The
 * writer gathers for a couple of milliseconds, then writes every ring's bytes (whole lines,
 * one or two spans per ring) to stderr, blocking there if it must. A ring whose thread has
 * ended is freed once written. */
#include "log_writer.h"

#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "log.h"
#include "log_ring.h"
#include "log_stderr.h"
#include "metrics.h"
#include "util.h"

#define RING_BYTES (128u << 10) /* a thread's lines in flight: ~700 request lines */
#define GATHER_US 2000          /* the writer collects lines this long before writing */
#define STOP_WAIT_S 1           /* the most a stop waits for a stalled stderr */

struct thread_ring {
    struct log_ring ring;
    atomic_bool ended; /* its thread is gone: nothing more is appended */
    struct thread_ring *next;
};

static struct {
    pthread_mutex_t lock; /* the list's links, the wake-up, stop and finished */
    pthread_cond_t wake, done;
    struct thread_ring *rings;
    atomic_bool pending; /* a line was appended since the writer last looked */
    atomic_ullong dropped;
    atomic_bool started; /* set once by start; the first stop takes it */
    bool stop, finished;
    pthread_t thread;
    pthread_key_t key;
} lw = {.lock = PTHREAD_MUTEX_INITIALIZER, .wake = PTHREAD_COND_INITIALIZER};

static _Thread_local struct thread_ring *this_thread_ring;

static void on_thread_end(void *arg)
{
    struct thread_ring *t = arg;
    /* a line logged later in this thread's exit (another key's destructor) gets a ring of
     * its own, ended in turn, instead of this one, which the writer may free from now on */
    this_thread_ring = NULL;
    atomic_store(&t->ended, true);
}

/* NULL when there is no memory for one (no xcalloc: out of memory logs, through here). */
static struct thread_ring *ring_of_this_thread(void)
{
    if (this_thread_ring)
        return this_thread_ring;
    struct thread_ring *t = calloc(1, sizeof *t);
    if (!t || !log_ring_init(&t->ring, RING_BYTES)) {
        free(t);
        return NULL;
    }
    atomic_init(&t->ended, false);
    pthread_mutex_lock(&lw.lock);
    t->next = lw.rings;
    lw.rings = t;
    pthread_mutex_unlock(&lw.lock);
    pthread_setspecific(lw.key, t);
    this_thread_ring = t;
    return t;
}

static void note_dropped(unsigned long long lines)
{
    atomic_fetch_add_explicit(&lw.dropped, lines, memory_order_relaxed);
    metrics_add(METRIC_LOG_LINES_DROPPED, lines);
}

/* The sink: never waits on stderr. */
static void ring_sink(const char *line, size_t len)
{
    struct thread_ring *t = ring_of_this_thread();
    if (!t) {
        log_stderr_write(line, len);
        return;
    }
    if (!log_ring_push(&t->ring, line, len))
        note_dropped(1);
    /* The line is in before the flag is read; the writer clears the flag before it reads
     * the rings: either it sees this line or this thread sees the flag clear and wakes it. */
    atomic_thread_fence(memory_order_seq_cst);
    if (!atomic_load_explicit(&lw.pending, memory_order_relaxed) &&
        !atomic_exchange(&lw.pending, true)) {
        pthread_mutex_lock(&lw.lock);
        pthread_cond_signal(&lw.wake);
        pthread_mutex_unlock(&lw.lock);
    }
}

static void count_dropped(const char *bytes, size_t len)
{
    unsigned long long lines = 0;
    for (const char *p = bytes; (p = memchr(p, '\n', len - (size_t)(p - bytes))) != NULL; p++)
        lines++;
    note_dropped(lines);
}

/* Writes a ring's bytes (whole lines, in one or two spans: a line may wrap) in writes of whole
 * lines of at most PIPE_BUF bytes, which a pipe takes whole: anything else writing to stderr
 * (a library's own message) cannot land inside a line. Lines stderr refuses are counted as
 * dropped. */
static void write_spans(const struct log_ring_spans *s)
{
    char chunk[PIPE_BUF];
    size_t fill = 0;
    for (int i = 0; i < 2; i++) {
        const char *p = s->p[i];
        size_t left = s->len[i];
        while (left > 0) {
            size_t n = sizeof chunk - fill < left ? sizeof chunk - fill : left;
            memcpy(chunk + fill, p, n);
            fill += n, p += n, left -= n;
            if (fill < sizeof chunk)
                continue;
            const char *nl = memrchr(chunk, '\n', fill);
            size_t whole = nl ? (size_t)(nl - chunk) + 1 : fill; /* lines are under 2 KiB */
            if (!log_stderr_write(chunk, whole))
                count_dropped(chunk, whole);
            memmove(chunk, chunk + whole, fill - whole);
            fill -= whole;
        }
    }
    if (fill > 0 && !log_stderr_write(chunk, fill))
        count_dropped(chunk, fill);
}

/* Writes what every ring holds; frees the rings of ended threads once written. */
static void write_rings(void)
{
    pthread_mutex_lock(&lw.lock);
    struct thread_ring *t = lw.rings; /* new rings go in at the head, before this one */
    pthread_mutex_unlock(&lw.lock);
    while (t) {
        bool ended = atomic_load(&t->ended); /* read first: then what follows is all */
        struct log_ring_spans s;
        log_ring_peek(&t->ring, &s);
        write_spans(&s);
        log_ring_release(&t->ring, s.total);
        struct thread_ring *next = t->next;
        if (ended) { /* unlinked from whatever points at it (a few rings: one per thread) */
            pthread_mutex_lock(&lw.lock);
            struct thread_ring **at = &lw.rings;
            while (*at != t)
                at = &(*at)->next;
            *at = next;
            pthread_mutex_unlock(&lw.lock);
            log_ring_free(&t->ring);
            free(t);
        }
        t = next;
    }
}

static void report_drops(void)
{
    unsigned long long n = atomic_exchange(&lw.dropped, 0);
    if (n > 0)
        log_warn("msg=\"log lines dropped: stderr's reader fell behind\" count=%llu", n);
}

static void *writer_main(void *arg)
{
    (void)arg;
    pthread_mutex_lock(&lw.lock);
    for (;;) {
        while (!atomic_load(&lw.pending) && !lw.stop)
            pthread_cond_wait(&lw.wake, &lw.lock);
        bool stopping = lw.stop;
        pthread_mutex_unlock(&lw.lock);
        if (!stopping)
            usleep(GATHER_US);
        atomic_store(&lw.pending, false);
        atomic_thread_fence(memory_order_seq_cst);
        write_rings();
        report_drops(); /* its line: the next pass, or straight out once stopping */
        pthread_mutex_lock(&lw.lock);
        if (stopping)
            break;
    }
    lw.finished = true;
    pthread_cond_broadcast(&lw.done);
    pthread_mutex_unlock(&lw.lock);
    return NULL;
}

void log_writer_start(void)
{
    if (atomic_load(&lw.started))
        return;
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC); /* the stop's wait, whatever the date does */
    pthread_cond_init(&lw.done, &ca);
    pthread_condattr_destroy(&ca);
    if (pthread_key_create(&lw.key, on_thread_end) != 0 ||
        pthread_create(&lw.thread, NULL, writer_main, NULL) != 0) {
        log_warn("msg=\"log writer thread not started: lines go straight to stderr\"");
        return;
    }
    atomic_store(&lw.started, true);
    atexit(log_writer_stop);
    log_set_flush(log_writer_stop);
    log_set_sink(ring_sink);
}

void log_writer_stop(void)
{
    if (!atomic_exchange(&lw.started, false))
        return;           /* never started, or another thread is stopping it */
    log_stderr_install(); /* from here lines go straight to stderr */
    struct timespec deadline;
    clock_gettime(CLOCK_MONOTONIC, &deadline);
    deadline.tv_sec += STOP_WAIT_S;
    pthread_mutex_lock(&lw.lock);
    lw.stop = true;
    pthread_cond_signal(&lw.wake);
    if (pthread_equal(pthread_self(), lw.thread)) {
        pthread_mutex_unlock(&lw.lock);
        return; /* the writer itself is ending the process: it cannot wait for itself */
    }
    int rc = 0;
    while (!lw.finished && rc != ETIMEDOUT)
        rc = pthread_cond_timedwait(&lw.done, &lw.lock, &deadline);
    bool finished = lw.finished;
    pthread_mutex_unlock(&lw.lock);
    if (finished)
        pthread_join(lw.thread, NULL);
    else
        pthread_detach(lw.thread); /* stuck writing to a stalled stderr; the rest is lost */
}
