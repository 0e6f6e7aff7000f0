/* spec.h - workload spec files (workloads/NAME.wl): parsing, units, size distributions.
 *
 * A spec is a list of `key = value` lines (inih syntax: `#` starts a comment line,
 * `;` after whitespace an inline comment; an indented line continues the value
 * above). Generators read their keys through the typed accessors below, which
 * mark each key used and turn a bad value into "FILE:LINE: key: reason"; keys
 * nobody read are then refused as unknown. The grammar of every value is in
 * workloads/README.md. */
#ifndef ALLOCMARK_SPEC_H
#define ALLOCMARK_SPEC_H

#include <stddef.h>
#include <stdint.h>

#include "rng.h"

#define SPEC_ERR_LEN 1024

struct spec_entry {
    char *key, *value;
    unsigned line;
    int used;
};

struct spec {
    char name[256]; /* the file name, for messages */
    struct spec_entry *e;
    size_t n, cap;
    char err[SPEC_ERR_LEN];
};

/* Parse a spec file, or text held in memory (name is used in messages).
 * Returns 0, or -1 (invalid) / -2 (cannot read) with s->err set. spec_free
 * releases either way. */
int spec_load(const char *path, struct spec *s);
int spec_parse(const char *name, const char *text, size_t len, struct spec *s);
void spec_free(struct spec *s);

/* ---- typed accessors: 0 (value or default in *out), -1 (s->err set) ----
 * Pass SPEC_REQUIRED as the default to make a key mandatory. */
#define SPEC_REQUIRED (-1.0)

/* A plain string (generator name, description). NULL def = required. */
int spec_string(struct spec *s, const char *key, const char *def, const char **out);
/* A count of things: 1000, 1_000_000, or with a decimal suffix 5k, 2M, 1G. */
int spec_count(struct spec *s, const char *key, double def, uint64_t min, uint64_t max, uint64_t *out);
/* Bytes: 64, 4K, 1M, 2G (powers of 1024; "KiB" and a trailing "B" accepted). */
int spec_size(struct spec *s, const char *key, double def, uint64_t min, uint64_t max, uint64_t *out);
/* A duration with its unit: 500ms, 2s, 1.5s, 250us (rounded to whole ms). */
int spec_duration_ms(struct spec *s, const char *key, double def, uint64_t max_ms, uint64_t *out);
/* A real number, or a percentage: 0.25 or 25%. */
int spec_real(struct spec *s, const char *key, double def, double min, double max, double *out);
/* The text of an unread key's value, if present (for keys parsed elsewhere). */
const char *spec_peek(const struct spec *s, const char *key);
/* Every key read? Otherwise -1 naming the first unknown one. */
int spec_check_unused(struct spec *s, const char *generator);

/* Parse a number with the unit rules above (exposed for tests and the CLI). */
int spec_parse_count(const char *text, uint64_t *out);
int spec_parse_size(const char *text, uint64_t *out);
int spec_parse_duration_ms(const char *text, uint64_t *out);

/* ---- size distributions ---- */

enum dist_kind { DIST_FIXED, DIST_UNIFORM, DIST_LOGNORMAL, DIST_INVSQUARE, DIST_TABLE };
#define DIST_TABLE_MAX 128

struct size_dist {
    enum dist_kind kind;
    uint64_t lo, hi;        /* the range every sample falls in */
    double mean, sigma, mu; /* lognormal: mean in bytes, sigma of log; mu derived */
    unsigned n;             /* table: entries */
    uint64_t size[DIST_TABLE_MAX];
    double cum[DIST_TABLE_MAX]; /* cumulative probability up to entry i */
};

/* `fixed 64` | `uniform 16..4K` | `lognormal 300,0.8 clamped 16..4K` |
 * `inverse-square 16..4K` | `table 16:50, 64:30, 512:20` (size:weight).
 * Returns NULL, or a static description of the problem. */
const char *dist_parse(const char *text, struct size_dist *d);
int spec_dist(struct spec *s, const char *key, const char *def, struct size_dist *out);
uint64_t dist_sample(const struct size_dist *d, struct rng *r);
/* P(sample <= x), exact for the distribution as sampled (tests check against it). */
double dist_cdf(const struct size_dist *d, uint64_t x);
/* The distribution as spec text (for messages and the cache key's readers). */
void dist_format(const struct size_dist *d, char *buf, size_t len);

#endif
