#include "pace.h"

#include <stdbool.h>

#define PACE_MIN_TIMED_BYTES (256 * 1024) /* smaller work is too quick to time */

void pace_init(struct pace *p, double share, double full_bps, uint64_t max_pause_us,
               uint64_t max_total_us)
{
    p->share = share > 0 ? share : 1;
    p->full_bps = full_bps;
    p->max_pause_us = max_pause_us;
    p->max_total_us = max_total_us;
    p->started_us = p->next_us = p->last_us = p->window_us = 0;
    p->busy = false;
    p->fg_seen = 0;
    p->pauses = 0;
    p->paused_us = 0;
}

void pace_begin(struct pace *p, uint64_t now_us, unsigned long long fg_events)
{
    p->started_us = p->next_us = p->last_us = p->window_us = now_us;
    p->fg_seen = fg_events;
    p->busy = false;
}

uint64_t pace_pause_us(struct pace *p, uint64_t now_us, size_t bytes, unsigned long long fg_events)
{
    /* Busy: the foreground answered at least PACE_BUSY_PER_S events a second over the last
     * window of PACE_BUSY_WINDOW_US or more (a lone health check is not a reader); until a
     * window has passed, the last one's verdict stands. */
    if (now_us >= p->window_us + PACE_BUSY_WINDOW_US) {
        double seconds = (double)(now_us - p->window_us) / 1e6;
        p->busy = (double)(fg_events - p->fg_seen) >= PACE_BUSY_PER_S * seconds;
        p->fg_seen = fg_events;
        p->window_us = now_us;
    } else if (fg_events - p->fg_seen >= PACE_BUSY_PER_S * PACE_BUSY_WINDOW_US / 1000000) {
        p->busy = true; /* already a window's worth: no need to wait for the window's end */
    }
    bool busy = p->busy;
    /* The bytes were sent since the last look, or since what was sent before was paid for,
     * whichever is later. */
    uint64_t from = p->next_us > p->last_us ? p->next_us : p->last_us;
    p->last_us = now_us;
    bool spent = p->max_total_us && p->paused_us >= p->max_total_us;
    if (!busy || spent || p->share >= 1 || p->full_bps <= 0) {
        p->next_us = now_us; /* work done while the foreground was quiet owes nothing */
        return 0;
    }
    p->next_us = from + (uint64_t)((double)bytes * 1e6 / (p->full_bps * p->share));
    if (p->next_us < now_us + PACE_MIN_PAUSE_US)
        return 0; /* not worth a timer: the debt is carried */
    uint64_t pause = p->next_us - now_us;
    uint64_t bound = p->max_pause_us;
    if (p->max_total_us && p->max_total_us - p->paused_us < bound)
        bound = p->max_total_us - p->paused_us;
    if (pause > bound) {
        pause = bound;
        p->next_us = now_us + pause; /* what is beyond the bound is forgiven */
    }
    p->pauses++;
    p->paused_us += pause;
    return pause;
}

double pace_measured_bps(const struct pace *p, uint64_t end_us, uint64_t total_bytes)
{
    if (p->pauses || total_bytes < PACE_MIN_TIMED_BYTES || end_us <= p->started_us)
        return 0;
    return (double)total_bytes * 1e6 / (double)(end_us - p->started_us);
}

double pace_learn(double learnt_bps, double measured_bps)
{
    if (measured_bps <= 0)
        return learnt_bps;
    if (learnt_bps <= 0)
        return measured_bps;
    return 0.7 * learnt_bps + 0.3 * measured_bps;
}
