/* Process-wide counters for /metrics (Prometheus text format): requests by route and
 * status, latency histogram per route, database pool state, rows ingested, rota runs. */
#ifndef MATD_METRICS_H
#define MATD_METRICS_H
#include <stddef.h>

#include "util.h"

enum metric_counter {
    METRIC_ROWS_INGESTED,
    METRIC_PUSHES,
    METRIC_ROTA_RUNS,
    METRIC_SCHEDULER_RUNS,
    METRIC_AUTH_CACHE_HITS,
    METRIC_AUTH_CACHE_MISSES,
    METRIC_AUTH_CACHE_REFRESHES,
    METRIC_AUTH_BATCH_QUERIES,
    METRIC_AUTH_BATCH_CHECKS,
    METRIC_DB_JOBS_REJECTED,
    METRIC_PRIORITIES_COMPUTED,
    METRIC_PRIORITIES_CACHE_HITS,
    METRIC_PRIORITIES_VIEW_HITS,
    METRIC_PRIORITIES_VIEW_MISSES,
    METRIC_COMPRESSIONS,
    METRIC_PUSH_PAUSES,
    METRIC_SHARED_READ_QUERIES,
    METRIC_SHARED_READ_ANSWERS,
    METRIC_LOG_LINES_DROPPED,
    METRIC_CONNECTIONS_EVICTED,
    METRIC_COUNT
};

/* Values that go up and down, set by their owner. */
enum metric_gauge {
    METRIC_GAUGE_PRIO_VIEWS_ENTRIES,
    METRIC_GAUGE_PRIO_VIEWS_BYTES,
    METRIC_GAUGE_COUNT
};

void metrics_init(size_t nroutes);
void metrics_request(int route_index, int status, unsigned long long duration_us);
void metrics_add(enum metric_counter c, unsigned long long n);
/* Requests answered so far, all routes (a cheap sign of how busy the server is). */
unsigned long long metrics_requests_total(void);
void metrics_set(enum metric_gauge g, long long value);
/* Appends the exposition text; route names indexed like the route table. */
void metrics_render(struct strbuf *out, const char *const *route_names, size_t nroutes);

#endif
