/* matd configuration: an INI file (inih) with every key overridable from the
 * environment as MATD_<SECTION>_<KEY>, checked against one table of known keys
 * with types and bounds. Pure: no I/O beyond reading the file it is given. */
#ifndef MATD_CONFIG_H
#define MATD_CONFIG_H
#include <stdbool.h>
#include <stddef.h>

struct config {
    /* [server] */
    char *listen;      /* "host:port" as written */
    char *listen_host; /* derived */
    int listen_port;   /* derived */
    int workers;       /* 0 = one per core */
    char *tls_cert;
    char *tls_key;
    char *tls_client_ca; /* empty = no client certificates */
    int max_connections; /* per process */
    int request_timeout_ms;
    int idle_timeout_s;
    int drain_timeout_ms;
    int max_connections_per_address; /* process-wide, per client address */
    int header_timeout_ms;           /* accept (TLS handshake included) or first byte -> headers */
    int body_min_bytes_per_s;        /* a body must arrive at least this fast (after the grace) */
    int denial_flush_s;              /* denial counts are written to audit_log this often */
    int offload_queue_max;           /* queued CPU tasks (plans, parses) before 503 */
    char *proxy_from;                /* load balancers whose PROXY v2 header names the client */
    /* [limits] */
    int max_header_bytes;
    int max_body_bytes; /* ordinary JSON bodies */
    int max_push_bytes; /* progress pushes (JSON or CSV) */
    int max_records_per_push;
    int rate_limit_per_minute; /* per token; 0 = off */
    int rate_limit_burst;
    int push_busy_share_pct; /* a push's COPY works this % of the time while requests are served */
    /* [database] */
    char *dsn;
    char *replica_dsn;         /* read replicas, '|'-separated conninfo list; "" = none */
    int replica_max_lag_ms;    /* a replica further behind serves no reads */
    int replica_max_lag_bytes; /* the same in WAL bytes; 0 = no byte bound */
    int pool_size;             /* connections per worker */
    int queue_max;             /* queued jobs per worker before 503 */
    int connect_timeout_ms;
    int statement_timeout_ms; /* per pool connection; 0 = none */
    /* [trust] */
    char *trust_name;
    char *secret_file;
    char *subjects;      /* comma-separated vocabulary of progress subjects */
    char **subject_list; /* derived: the vocabulary split, NULL-terminated */
    size_t nsubjects;    /* derived */
    char *themes;        /* comma-separated vocabulary of SIP priority themes */
    char **theme_list;   /* derived: the vocabulary split, NULL-terminated */
    size_t nthemes;      /* derived */
    /* [rota] */
    int rota_lead_days;
    int rota_check_interval_s; /* how often the scheduler looks */
    char *scheduler_now;       /* tests only: fixed "YYYY-MM-DD" the scheduler treats as today */
    /* [log] */
    char *log_level;
    /* [metrics] */
    bool metrics_public; /* serve /metrics to non-loopback clients without a token */
};

/* Fills cfg with defaults. */
void config_defaults(struct config *cfg);
/* Parses INI text over the defaults already in cfg, then applies the environment
 * (envp may be NULL for none), then validates. On failure returns -1 and writes a
 * message naming the section, key and problem into err. */
int config_load_string(struct config *cfg, const char *ini, char *const *envp, char *err,
                       size_t errlen);
void config_free(struct config *cfg);

/* Calls fn(section, key, arg) for every key that differs between running and next and that
 * takes effect only on restart (the table in config.c says which keys SIGHUP applies). */
typedef void (*config_change_fn)(const char *section, const char *key, void *arg);
void config_each_restart_only_change(const struct config *running, const struct config *next,
                                     config_change_fn fn, void *arg);

/* Is word one of a vocabulary's (subject_list, theme_list)? */
bool config_vocabulary_has(char *const *list, size_t n, const char *word);

#endif
