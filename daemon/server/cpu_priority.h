/* Where matd's threads stand with the kernel's scheduler, so that a school's upload does
 * not slow the readers on a box whose cores matd shares (with PostgreSQL, say). */
#ifndef MATD_CPU_PRIORITY_H
#define MATD_CPU_PRIORITY_H

/* The calling thread answers requests: it asks for a short time slice (Linux 6.12 and
 * later), so that waking for a request it takes the core from a longer-running task at
 * once instead of after that task's slice. Elsewhere nothing changes. */
void cpu_priority_latency_sensitive(void);
/* The calling thread does background work (a push's parsing, compression): nice +10, so
 * that request-serving threads get about ten times its share of a contended core. */
void cpu_priority_background(void);

#endif
