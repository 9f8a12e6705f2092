/* Lock-free counters (relaxed atomics); rendering reads them without stopping workers. */
#include "metrics.h"

#include <stdatomic.h>
#include <stdlib.h>

#include "db_pool.h"
#include "http_server.h"
#include "replica.h"

static const int status_codes[] = {200, 201, 204, 304, 400, 401, 403, 404, 405,
                                   409, 413, 415, 422, 429, 500, 503, 0};
#define NSTATUS (sizeof status_codes / sizeof status_codes[0])
static const double buckets_s[] = {0.001, 0.0025, 0.005, 0.01, 0.025, 0.05,
                                   0.1,   0.25,   0.5,   1,    2.5,   10};
#define NBUCKETS (sizeof buckets_s / sizeof buckets_s[0])

struct route_metrics {
    atomic_ullong by_status[NSTATUS];
    atomic_ullong bucket[NBUCKETS];
    atomic_ullong count;
    atomic_ullong sum_us;
};

static struct route_metrics *per_route; /* nroutes + 1: last is "unmatched" */
static size_t nroutes_total;
static atomic_ullong counters[METRIC_COUNT];
/* Every family has its HELP and TYPE lines (promtool check metrics). */
static const struct {
    const char *name, *help;
} counters_info[METRIC_COUNT] = {
    [METRIC_ROWS_INGESTED] = {"matd_rows_ingested_total", "Progress rows stored by pushes."},
    [METRIC_PUSHES] = {"matd_pushes_total", "Progress pushes accepted."},
    [METRIC_ROTA_RUNS] = {"matd_rota_runs_total", "Rota plans computed."},
    [METRIC_SCHEDULER_RUNS] = {"matd_scheduler_runs_total", "Draft rotas made by the scheduler."},
    [METRIC_AUTH_CACHE_HITS] = {"matd_auth_cache_hits_total",
                                "Credentials answered from the in-process cache."},
    [METRIC_AUTH_CACHE_MISSES] = {"matd_auth_cache_misses_total",
                                  "Credentials looked up in the database."},
    [METRIC_AUTH_CACHE_REFRESHES] = {"matd_auth_cache_refreshes_total",
                                     "Credentials in use looked up again in the background "
                                     "(the requests answered from the cache meanwhile)."},
    [METRIC_AUTH_BATCH_QUERIES] = {"matd_auth_batch_queries_total",
                                   "Queries that checked together the credentials presented from "
                                   "addresses past their budget of failed lookups."},
    [METRIC_AUTH_BATCH_CHECKS] = {"matd_auth_batch_checks_total",
                                  "Credentials checked in those queries."},
    [METRIC_DB_JOBS_REJECTED] = {"matd_db_jobs_rejected_total",
                                 "Database jobs refused (queue full or database down): 503s."},
    [METRIC_PRIORITIES_COMPUTED] = {"matd_priorities_computed_total",
                                    "Priority lists computed from the data."},
    [METRIC_PRIORITIES_CACHE_HITS] = {"matd_priorities_cache_hits_total",
                                      "Priority lists served from the cache."},
    [METRIC_PRIORITIES_VIEW_HITS] = {"matd_priorities_view_hits_total",
                                     "Filtered or scoped priorities views served as cached bytes."},
    [METRIC_PRIORITIES_VIEW_MISSES] = {"matd_priorities_view_misses_total",
                                       "Filtered or scoped priorities views rendered anew."},
    [METRIC_COMPRESSIONS] = {"matd_compressions_total",
                             "Cached replies compressed (their gzip and brotli variants made)."},
    [METRIC_SHARED_READ_QUERIES] = {"matd_shared_read_queries_total",
                                    "Queries sent for reads shared by the requests waiting "
                                    "for them (the priorities' data version)."},
    [METRIC_SHARED_READ_ANSWERS] = {"matd_shared_read_answers_total",
                                    "Requests answered by a shared read's query."},
    [METRIC_LOG_LINES_DROPPED] = {"matd_log_lines_dropped_total",
                                  "Log lines dropped because stderr's reader fell behind "
                                  "(a thread's log ring was full)."},
    [METRIC_PUSH_PAUSES] = {"matd_push_pauses_total",
                            "Pauses a push's COPY took to give way to requests being served."},
    [METRIC_CONNECTIONS_EVICTED] = {"matd_connections_evicted_total",
                                    "Connections doing nothing useful yet (in the TLS handshake "
                                    "or between requests) closed to make room for a new one at "
                                    "the connection budget."},
};
static atomic_llong gauges[METRIC_GAUGE_COUNT];
static const struct {
    const char *name, *help;
} gauges_info[METRIC_GAUGE_COUNT] = {
    [METRIC_GAUGE_PRIO_VIEWS_ENTRIES] = {"matd_priorities_view_cache_entries",
                                         "Rendered priorities views held in the cache."},
    [METRIC_GAUGE_PRIO_VIEWS_BYTES] = {"matd_priorities_view_cache_bytes",
                                       "Bytes held by the priorities view cache."},
};

void metrics_init(size_t nroutes)
{
    nroutes_total = nroutes + 1;
    per_route = xcalloc(nroutes_total, sizeof *per_route);
}

void metrics_request(int route_index, int status, unsigned long long duration_us)
{
    if (!per_route)
        return;
    size_t ri = route_index < 0 || (size_t)route_index >= nroutes_total - 1 ? nroutes_total - 1
                                                                            : (size_t)route_index;
    struct route_metrics *m = &per_route[ri];
    size_t si = NSTATUS - 1;
    for (size_t i = 0; i + 1 < NSTATUS; i++)
        if (status_codes[i] == status) {
            si = i;
            break;
        }
    atomic_fetch_add_explicit(&m->by_status[si], 1, memory_order_relaxed);
    for (size_t b = 0; b < NBUCKETS; b++)
        if ((double)duration_us / 1e6 <= buckets_s[b]) {
            atomic_fetch_add_explicit(&m->bucket[b], 1, memory_order_relaxed);
            break;
        }
    atomic_fetch_add_explicit(&m->count, 1, memory_order_relaxed);
    atomic_fetch_add_explicit(&m->sum_us, duration_us, memory_order_relaxed);
}

void metrics_add(enum metric_counter c, unsigned long long n)
{
    atomic_fetch_add_explicit(&counters[c], n, memory_order_relaxed);
}

unsigned long long metrics_requests_total(void)
{
    unsigned long long n = 0;
    for (size_t r = 0; per_route && r < nroutes_total; r++)
        n += atomic_load_explicit(&per_route[r].count, memory_order_relaxed);
    return n;
}

void metrics_set(enum metric_gauge g, long long value)
{
    atomic_store_explicit(&gauges[g], value, memory_order_relaxed);
}

void metrics_render(struct strbuf *out, const char *const *route_names, size_t nroutes)
{
    strbuf_puts(out, "# HELP matd_http_requests_total HTTP requests by route and status.\n"
                     "# TYPE matd_http_requests_total counter\n");
    for (size_t r = 0; r < nroutes_total; r++) {
        const char *name = r < nroutes ? route_names[r] : "unmatched";
        for (size_t s = 0; s < NSTATUS; s++) {
            unsigned long long v =
                atomic_load_explicit(&per_route[r].by_status[s], memory_order_relaxed);
            if (!v)
                continue;
            if (status_codes[s])
                strbuf_printf(out, "matd_http_requests_total{route=\"%s\",status=\"%d\"} %llu\n",
                              name, status_codes[s], v);
            else
                strbuf_printf(out, "matd_http_requests_total{route=\"%s\",status=\"other\"} %llu\n",
                              name, v);
        }
    }
    strbuf_puts(out, "# HELP matd_http_request_duration_seconds Request latency by route.\n"
                     "# TYPE matd_http_request_duration_seconds histogram\n");
    for (size_t r = 0; r < nroutes_total; r++) {
        struct route_metrics *m = &per_route[r];
        unsigned long long count = atomic_load_explicit(&m->count, memory_order_relaxed);
        if (!count)
            continue;
        const char *name = r < nroutes ? route_names[r] : "unmatched";
        unsigned long long cum = 0;
        for (size_t b = 0; b < NBUCKETS; b++) {
            cum += atomic_load_explicit(&m->bucket[b], memory_order_relaxed);
            strbuf_printf(out,
                          "matd_http_request_duration_seconds_bucket{route=\"%s\",le=\"%g\"} "
                          "%llu\n",
                          name, buckets_s[b], cum);
        }
        strbuf_printf(out,
                      "matd_http_request_duration_seconds_bucket{route=\"%s\",le=\"+Inf\"} %llu\n"
                      "matd_http_request_duration_seconds_sum{route=\"%s\"} %.6f\n"
                      "matd_http_request_duration_seconds_count{route=\"%s\"} %llu\n",
                      name, count, name,
                      (double)atomic_load_explicit(&m->sum_us, memory_order_relaxed) / 1e6, name,
                      count);
    }
    for (int c = 0; c < METRIC_COUNT; c++)
        strbuf_printf(out, "# HELP %s %s\n# TYPE %s counter\n%s %llu\n", counters_info[c].name,
                      counters_info[c].help, counters_info[c].name, counters_info[c].name,
                      atomic_load_explicit(&counters[c], memory_order_relaxed));
    for (int g = 0; g < METRIC_GAUGE_COUNT; g++)
        strbuf_printf(out, "# HELP %s %s\n# TYPE %s gauge\n%s %lld\n", gauges_info[g].name,
                      gauges_info[g].help, gauges_info[g].name, gauges_info[g].name,
                      atomic_load_explicit(&gauges[g], memory_order_relaxed));
    int up = 0, busy = 0, queued = 0, size = 0, conns = 0;
    if (g_server)
        for (int i = 0; i < g_server->nworkers; i++) {
            struct worker *w = &g_server->workers[i];
            if (!w->db)
                continue;
            /* Benign racy reads of ints owned by other threads: a gauge snapshot. */
            up += db_pool_up(w->db);
            busy += db_pool_busy(w->db);
            queued += db_pool_queued(w->db);
            size += g_server->cfg.pool_size;
            conns += w->connections;
        }
    strbuf_printf(out,
                  "# HELP matd_db_pool_connections Database connections configured, all workers.\n"
                  "# TYPE matd_db_pool_connections gauge\nmatd_db_pool_connections %d\n"
                  "# HELP matd_db_pool_up Database connections up.\n"
                  "# TYPE matd_db_pool_up gauge\nmatd_db_pool_up %d\n"
                  "# HELP matd_db_pool_busy Database connections running a job.\n"
                  "# TYPE matd_db_pool_busy gauge\nmatd_db_pool_busy %d\n"
                  "# HELP matd_db_pool_queued Database jobs waiting for a connection.\n"
                  "# TYPE matd_db_pool_queued gauge\nmatd_db_pool_queued %d\n"
                  "# HELP matd_open_connections Client connections open.\n"
                  "# TYPE matd_open_connections gauge\nmatd_open_connections %d\n",
                  size, up, busy, queued, conns);
    replica_metrics_render(out);
}
