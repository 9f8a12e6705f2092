/* Background work that gives way to the foreground, in the manner of PostgreSQL's cost-based
 * vacuum delay: while the foreground is busy (it answered PACE_BUSY_PER_S events a second or
 * more over the last PACE_BUSY_WINDOW_US), the work may go at `share` of the rate it reaches when
 * it runs flat out, and is told to pause between units to keep to it; when the foreground is quiet
 * it never pauses. The flat-out rate is learnt from the units of work that ran without a pause.
 * Used for a push's COPY: the database consumes what it is sent behind socket buffers, so the time
 * a send takes says nothing of the database's work, but bytes do. Pure: the caller supplies the
 * clock, the byte counts and the foreground's count. */
#ifndef MAT_PACE_H
#define MAT_PACE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define PACE_MIN_PAUSE_US 1000     /* shorter pauses are carried into the next unit */
#define PACE_BUSY_PER_S 20         /* foreground events a second that make it busy */
#define PACE_BUSY_WINDOW_US 100000 /* the shortest window that rate is taken over */

struct pace {
    double share;               /* of the flat-out rate, while the foreground is busy */
    double full_bps;            /* the flat-out rate (bytes per second) */
    uint64_t max_pause_us;      /* no single pause longer than this */
    uint64_t max_total_us;      /* nor all of them together (0: no bound) */
    uint64_t started_us;        /* when the work began */
    uint64_t next_us;           /* when the bytes sent so far are paid for */
    uint64_t last_us;           /* the last look */
    unsigned long long fg_seen; /* the foreground's event count when the window began */
    uint64_t window_us;         /* when the window over which its rate is taken began */
    bool busy;                  /* the last window's verdict */
    unsigned long long pauses;  /* pauses asked for */
    uint64_t paused_us;         /* their total length */
};

/* share in (0, 1] (1 or more, or a rate of 0: never pauses); full_bps > 0. The pauses of
 * one piece of work add up to at most max_total_us (0: unbounded), so that pacing never
 * takes a piece of work past the deadlines it runs under. */
void pace_init(struct pace *p, double share, double full_bps, uint64_t max_pause_us,
               uint64_t max_total_us);
/* The work starts at now_us; fg_events is the foreground's count. */
void pace_begin(struct pace *p, uint64_t now_us, unsigned long long fg_events);
/* `bytes` more were sent by now_us: the pause (microseconds) to take before the next unit,
 * 0 to go straight on. */
uint64_t pace_pause_us(struct pace *p, uint64_t now_us, size_t bytes, unsigned long long fg_events);
/* The work ended at end_us having sent total_bytes: the flat-out rate it shows (bytes per
 * second), or 0 if it says nothing of it (it paused, or was too small to time). */
double pace_measured_bps(const struct pace *p, uint64_t end_us, uint64_t total_bytes);
/* The learnt rate after one more measurement (a moving average; 0 = none yet). */
double pace_learn(double learnt_bps, double measured_bps);

#endif
