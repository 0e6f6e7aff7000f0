/* spec.c - reading workload specs: inih for the lines, our own typed values.
 *
 * inih (Debian's libinih, built without INI_HANDLER_LINENO) does not tell the
 * handler which line it is on, so we feed it lines ourselves through
 * ini_parse_stream and count them; every key keeps its line for later messages. */
#include "spec.h"

#include <ctype.h>
#include <errno.h>
#include <ini.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "os.h"
#include "trace.h"

static int set_err(struct spec *s, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int set_err(struct spec *s, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(s->err, sizeof s->err, fmt, ap);
    va_end(ap);
    return -1;
}

/* ---- lines in, entries out ---- */

struct line_reader {
    const char *p, *end;
    unsigned line;
    unsigned too_long; /* first line over inih's limit */
    struct spec *s;
    char last_key[64];  /* continuation lines come back with the same key */
    int continuation;   /* the line just read is indented: it continues a value */
    int bad;            /* the handler refused a line: its reason is in s->err */
};

static char *read_line(char *str, int num, void *stream)
{
    struct line_reader *r = stream;
    if (r->p >= r->end)
        return NULL;
    r->line++;
    r->continuation = (*r->p == ' ' || *r->p == '\t');
    const char *nl = memchr(r->p, '\n', (size_t)(r->end - r->p));
    size_t len = nl ? (size_t)(nl - r->p) + 1 : (size_t)(r->end - r->p);
    if (len > (size_t)num - 1) { /* inih would split it: refuse the file instead */
        if (!r->too_long)
            r->too_long = r->line;
        len = (size_t)num - 1;
        memcpy(str, r->p, len);
        str[len] = '\0';
        r->p = nl ? nl + 1 : r->end;
        return str;
    }
    memcpy(str, r->p, len);
    str[len] = '\0';
    r->p += len;
    const char *first = str + strspn(str, " \t");
    if (*first == '[' && !r->bad) { /* refused here: inih reports an empty section to nobody */
        r->bad = 1;
        set_err(r->s, "%s:%u: sections (%.*s) are not used in a workload spec", r->s->name, r->line,
                (int)strcspn(first, "\r\n"), first);
    }
    return str;
}

static int on_entry(void *user, const char *section, const char *key, const char *value)
{
    struct line_reader *r = user;
    struct spec *s = r->s;
    if (r->bad)
        return 1; /* only the first problem is reported */
    if (section[0]) {
        r->bad = 1;
        set_err(s, "%s:%u: sections ([%s]) are not used in a workload spec", s->name, r->line, section);
        return 0;
    }
    for (size_t i = 0; i < s->n; i++) {
        if (strcmp(s->e[i].key, key) != 0)
            continue;
        if (r->continuation && strcmp(r->last_key, key) == 0 && i == s->n - 1) {
            size_t a = strlen(s->e[i].value), b = strlen(value);
            char *v = realloc(s->e[i].value, a + b + 2);
            if (!v)
                return 0;
            v[a] = ' ';
            memcpy(v + a + 1, value, b + 1);
            s->e[i].value = v;
            return 1;
        }
        r->bad = 1;
        set_err(s, "%s:%u: %s: given twice (first on line %u)", s->name, r->line, key, s->e[i].line);
        return 0;
    }
    if (s->n == s->cap) {
        size_t cap = s->cap ? 2 * s->cap : 16;
        struct spec_entry *e = realloc(s->e, cap * sizeof *e);
        if (!e)
            return 0;
        s->e = e;
        s->cap = cap;
    }
    struct spec_entry *e = &s->e[s->n];
    e->key = strdup(key);
    e->value = strdup(value);
    if (!e->key || !e->value) {
        free(e->key);
        free(e->value);
        return 0;
    }
    e->line = r->line;
    e->used = 0;
    s->n++;
    snprintf(r->last_key, sizeof r->last_key, "%s", key);
    return 1;
}

int spec_parse(const char *name, const char *text, size_t len, struct spec *s)
{
    memset(s, 0, sizeof *s);
    snprintf(s->name, sizeof s->name, "%s", name);
    struct line_reader r = {.p = text, .end = text + len, .s = s};
    if (memchr(text, '\0', len))
        return set_err(s, "%s: not a text file (it holds a NUL byte)", name);
    int line = ini_parse_stream(read_line, &r, on_entry, &r);
    if (r.too_long)
        return set_err(s, "%s:%u: line longer than %d characters (continue a long value on an indented line)",
                       name, r.too_long, INI_MAX_LINE - 1);
    if (r.bad)
        return -1;
    if (line > 0)
        return set_err(s, "%s:%d: not a `key = value` line", name, line);
    if (line < 0)
        return set_err(s, "%s: out of memory", name);
    return 0;
}

int spec_load(const char *path, struct spec *s)
{
    const void *buf;
    size_t len;
    if (os_map_file(path, &buf, &len) != 0) {
        int e = errno;
        memset(s, 0, sizeof *s);
        set_err(s, "%s: cannot open: %s", path, strerror(e));
        return -2;
    }
    int rc = spec_parse(path, buf, len, s);
    os_unmap_file(buf, len);
    return rc;
}

void spec_free(struct spec *s)
{
    for (size_t i = 0; i < s->n; i++) {
        free(s->e[i].key);
        free(s->e[i].value);
    }
    free(s->e);
    s->e = NULL;
    s->n = s->cap = 0;
}

static struct spec_entry *find(const struct spec *s, const char *key)
{
    for (size_t i = 0; i < s->n; i++)
        if (strcmp(s->e[i].key, key) == 0)
            return &s->e[i];
    return NULL;
}

const char *spec_peek(const struct spec *s, const char *key)
{
    const struct spec_entry *e = find(s, key);
    return e ? e->value : NULL;
}

int spec_check_unused(struct spec *s, const char *generator)
{
    for (size_t i = 0; i < s->n; i++)
        if (!s->e[i].used)
            return set_err(s, "%s:%u: %s: unknown key for generator %s (workloads/README.md lists its keys)",
                           s->name, s->e[i].line, s->e[i].key, generator);
    return 0;
}

/* ---- numbers with units ---- */

static const char *skip_space(const char *p)
{
    while (isspace((unsigned char)*p))
        p++;
    return p;
}

/* A non-negative decimal number, maybe with a fraction, `_` between digits. */
static const char *parse_number(const char *p, double *out)
{
    char digits[64];
    size_t n = 0;
    int seen_digit = 0, seen_dot = 0;
    for (; *p; p++) {
        if (isdigit((unsigned char)*p))
            seen_digit = 1;
        else if (*p == '.' && !seen_dot)
            seen_dot = 1;
        else if (*p == '_' && seen_digit && isdigit((unsigned char)p[1]))
            continue;
        else
            break;
        if (n + 1 >= sizeof digits)
            return NULL;
        digits[n++] = *p;
    }
    if (!seen_digit)
        return NULL;
    digits[n] = '\0';
    *out = strtod(digits, NULL);
    return p;
}

/* number + suffix from the table; the rest of the text must be blank. */
struct unit {
    const char *suffix;
    double mult;
};

static int parse_with_units(const char *text, const struct unit *units, int unit_required, double *out)
{
    double v;
    const char *p = parse_number(skip_space(text), &v);
    if (!p)
        return -1;
    const char *end = p;
    while (*end && !isspace((unsigned char)*end))
        end++;
    size_t slen = (size_t)(end - p);
    if (*skip_space(end))
        return -1;
    if (slen == 0 && !unit_required) {
        *out = v;
        return 0;
    }
    for (const struct unit *u = units; u->suffix; u++)
        if (strlen(u->suffix) == slen && strncmp(u->suffix, p, slen) == 0) {
            *out = v * u->mult;
            return 0;
        }
    return -1;
}

static int to_u64(double v, uint64_t *out)
{
    if (!(v >= 0) || v >= 18446744073709551616.0 || v != floor(v))
        return -1;
    *out = (uint64_t)v;
    return 0;
}

static const struct unit count_units[] = {{"k", 1e3}, {"K", 1e3}, {"M", 1e6}, {"G", 1e9}, {NULL, 0}};
static const struct unit size_units[] = {
    {"B", 1},          {"K", 1024.0},          {"KB", 1024.0},          {"KiB", 1024.0}, {"k", 1024.0},
    {"M", 1048576.0},  {"MB", 1048576.0},      {"MiB", 1048576.0},      {"G", 1073741824.0},
    {"GB", 1073741824.0}, {"GiB", 1073741824.0}, {NULL, 0}};
static const struct unit time_units[] = {{"us", 1e-3}, {"ms", 1}, {"s", 1e3}, {"min", 60e3}, {NULL, 0}};

int spec_parse_count(const char *text, uint64_t *out)
{
    double v;
    return parse_with_units(text, count_units, 0, &v) == 0 ? to_u64(v, out) : -1;
}

int spec_parse_size(const char *text, uint64_t *out)
{
    double v;
    return parse_with_units(text, size_units, 0, &v) == 0 ? to_u64(v, out) : -1;
}

int spec_parse_duration_ms(const char *text, uint64_t *out)
{
    double v;
    if (parse_with_units(text, time_units, 1, &v) != 0 || v >= 1e15)
        return -1;
    *out = (uint64_t)llround(v);
    return 0;
}

/* ---- accessors ---- */

/* The entry for key, marked used; NULL if absent (then *missing says whether
 * that is an error: a required key). */
static struct spec_entry *take(struct spec *s, const char *key, int required, int *rc)
{
    struct spec_entry *e = find(s, key);
    *rc = 0;
    if (e)
        e->used = 1;
    else if (required)
        *rc = set_err(s, "%s: missing required key `%s`", s->name, key);
    return e;
}

int spec_string(struct spec *s, const char *key, const char *def, const char **out)
{
    int rc;
    struct spec_entry *e = take(s, key, def == NULL, &rc);
    if (rc)
        return rc;
    *out = e ? e->value : def;
    if (e && !e->value[0])
        return set_err(s, "%s:%u: %s: empty value", s->name, e->line, key);
    return 0;
}

static int check_range(struct spec *s, const struct spec_entry *e, uint64_t v, uint64_t min, uint64_t max)
{
    if (v < min)
        return set_err(s, "%s:%u: %s: %llu is below the minimum %llu", s->name, e->line, e->key,
                       (unsigned long long)v, (unsigned long long)min);
    if (v > max)
        return set_err(s, "%s:%u: %s: %llu is above the maximum %llu", s->name, e->line, e->key,
                       (unsigned long long)v, (unsigned long long)max);
    return 0;
}

static int bad_value(struct spec *s, const struct spec_entry *e, const char *what)
{
    const char *v = skip_space(e->value);
    if (*v == '-')
        return set_err(s, "%s:%u: %s: `%s`: must not be negative", s->name, e->line, e->key, e->value);
    return set_err(s, "%s:%u: %s: `%s` is not %s", s->name, e->line, e->key, e->value, what);
}

typedef int (*u64_parser)(const char *, uint64_t *);

static int get_u64(struct spec *s, const char *key, double def, uint64_t min, uint64_t max, uint64_t *out,
                   u64_parser parse, const char *what)
{
    int rc;
    struct spec_entry *e = take(s, key, def == SPEC_REQUIRED, &rc);
    if (rc)
        return rc;
    if (!e) {
        *out = (uint64_t)def;
        return 0;
    }
    if (parse(e->value, out) != 0)
        return bad_value(s, e, what);
    return check_range(s, e, *out, min, max);
}

int spec_count(struct spec *s, const char *key, double def, uint64_t min, uint64_t max, uint64_t *out)
{
    return get_u64(s, key, def, min, max, out, spec_parse_count,
                   "a whole count (like 1000, 1_000_000, 5k or 2M)");
}

int spec_size(struct spec *s, const char *key, double def, uint64_t min, uint64_t max, uint64_t *out)
{
    return get_u64(s, key, def, min, max, out, spec_parse_size, "a size in bytes (like 64, 4K, 1M or 2G)");
}

int spec_duration_ms(struct spec *s, const char *key, double def, uint64_t max_ms, uint64_t *out)
{
    return get_u64(s, key, def, 0, max_ms, out, spec_parse_duration_ms,
                   "a duration with its unit (like 500ms, 2s or 250us)");
}

int spec_real(struct spec *s, const char *key, double def, double min, double max, double *out)
{
    int rc;
    struct spec_entry *e = take(s, key, def == SPEC_REQUIRED, &rc);
    if (rc)
        return rc;
    if (!e) {
        *out = def;
        return 0;
    }
    static const struct unit pct[] = {{"%", 0.01}, {NULL, 0}};
    if (parse_with_units(e->value, pct, 0, out) != 0)
        return bad_value(s, e, "a number (like 0.25 or 25%)");
    if (*out < min || *out > max)
        return set_err(s, "%s:%u: %s: %g is outside %g..%g", s->name, e->line, key, *out, min, max);
    return 0;
}

/* ---- size distributions ---- */

/* `A..B` as sizes, A <= B, both >= 1. */
static const char *parse_range(const char *p, uint64_t *lo, uint64_t *hi, const char **end)
{
    char a[64], b[64];
    p = skip_space(p);
    const char *dots = strstr(p, "..");
    if (!dots || (size_t)(dots - p) >= sizeof a)
        return "expected a range A..B";
    memcpy(a, p, (size_t)(dots - p));
    a[dots - p] = '\0';
    const char *q = dots + 2, *r = q;
    while (*r && !isspace((unsigned char)*r) && *r != ',')
        r++;
    if ((size_t)(r - q) >= sizeof b)
        return "expected a range A..B";
    memcpy(b, q, (size_t)(r - q));
    b[r - q] = '\0';
    if (spec_parse_size(a, lo) != 0 || spec_parse_size(b, hi) != 0)
        return "a range bound is not a size (like 16 or 4K)";
    if (*lo == 0)
        return "sizes start at 1 byte";
    if (*lo > *hi)
        return "the range's low end is above its high end";
    if (*hi > TRACE_MAX_SIZE)
        return "a size is above the trace format's limit";
    *end = r;
    return NULL;
}

/* Words are separated by spaces; the first is the kind. */
const char *dist_parse(const char *text, struct size_dist *d)
{
    memset(d, 0, sizeof *d);
    const char *p = skip_space(text), *end;
    const char *w = p;
    while (*p && !isspace((unsigned char)*p))
        p++;
    size_t wl = (size_t)(p - w);
    const char *err;
#define IS(word) (wl == strlen(word) && strncmp(w, word, wl) == 0)
    if (IS("fixed")) {
        d->kind = DIST_FIXED;
        if (spec_parse_size(p, &d->lo) != 0 || d->lo == 0 || d->lo > TRACE_MAX_SIZE)
            return "`fixed` takes one size of at least 1 byte (like `fixed 64`)";
        d->hi = d->lo;
        return NULL;
    }
    if (IS("uniform") || IS("inverse-square")) {
        d->kind = IS("uniform") ? DIST_UNIFORM : DIST_INVSQUARE;
        if ((err = parse_range(p, &d->lo, &d->hi, &end)) != NULL)
            return err;
        return *skip_space(end) ? "unexpected text after the range" : NULL;
    }
    if (IS("lognormal")) {
        d->kind = DIST_LOGNORMAL;
        char *q;
        errno = 0;
        d->mean = strtod(skip_space(p), &q);
        if (q == skip_space(p) || *q != ',')
            return "`lognormal` takes MEAN,SIGMA clamped A..B (like `lognormal 300,0.8 clamped 16..4K`)";
        const char *sg = q + 1;
        d->sigma = strtod(sg, &q);
        if (q == sg || errno || !(d->mean >= 1) || !(d->sigma > 0) || d->sigma > 10)
            return "lognormal MEAN must be >= 1 byte and SIGMA in (0, 10]";
        p = skip_space(q);
        if (strncmp(p, "clamped", 7) != 0 || !isspace((unsigned char)p[7]))
            return "`lognormal MEAN,SIGMA` needs `clamped A..B` after it";
        if ((err = parse_range(p + 7, &d->lo, &d->hi, &end)) != NULL)
            return err;
        /* MEAN is the arithmetic mean before clamping: E[X] = exp(mu + sigma^2/2). */
        d->mu = log(d->mean) - d->sigma * d->sigma / 2;
        return *skip_space(end) ? "unexpected text after the range" : NULL;
    }
    if (IS("table")) {
        d->kind = DIST_TABLE;
        double total = 0, weight[DIST_TABLE_MAX];
        p = skip_space(p);
        while (*p) {
            if (d->n == DIST_TABLE_MAX)
                return "a table holds at most 128 entries";
            const char *colon = strchr(p, ':');
            char sz[64];
            if (!colon || (size_t)(colon - p) >= sizeof sz)
                return "a table entry is SIZE:WEIGHT (like `table 16:50, 64:30`)";
            memcpy(sz, p, (size_t)(colon - p));
            sz[colon - p] = '\0';
            uint64_t size;
            if (spec_parse_size(sz, &size) != 0 || size == 0 || size > TRACE_MAX_SIZE)
                return "a table entry's size is not a size of at least 1 byte";
            char *q;
            double wgt = strtod(colon + 1, &q);
            if (q == colon + 1 || !(wgt >= 0) || wgt > 1e15)
                return "a table entry's weight is not a non-negative number";
            if (d->n && size <= d->size[d->n - 1])
                return "table sizes must be in increasing order";
            d->size[d->n] = size;
            weight[d->n++] = wgt;
            total += wgt;
            p = skip_space(q);
            if (*p == ',')
                p = skip_space(p + 1);
            else if (*p && !isdigit((unsigned char)*p))
                return "a table entry is SIZE:WEIGHT, entries separated by commas or spaces";
        }
        if (d->n == 0 || !(total > 0))
            return "a table needs at least one entry with a positive weight";
        double c = 0;
        for (unsigned i = 0; i < d->n; i++) {
            c += weight[i];
            d->cum[i] = c / total;
        }
        d->cum[d->n - 1] = 1.0;
        d->lo = d->size[0];
        d->hi = d->size[d->n - 1];
        return NULL;
    }
#undef IS
    return "unknown distribution (fixed, uniform, lognormal, inverse-square or table)";
}

int spec_dist(struct spec *s, const char *key, const char *def, struct size_dist *out)
{
    int rc;
    struct spec_entry *e = take(s, key, def == NULL, &rc);
    if (rc)
        return rc;
    const char *err = dist_parse(e ? e->value : def, out);
    if (err && e)
        return set_err(s, "%s:%u: %s: `%s`: %s", s->name, e->line, key, e->value, err);
    if (err)
        return set_err(s, "%s: %s: the default `%s`: %s", s->name, key, def, err);
    return 0;
}

uint64_t dist_sample(const struct size_dist *d, struct rng *r)
{
    switch (d->kind) {
    case DIST_FIXED:
        return d->lo;
    case DIST_UNIFORM:
        return rng_range(r, d->lo, d->hi);
    case DIST_LOGNORMAL: {
        double x = exp(d->mu + d->sigma * rng_normal(r));
        if (x <= (double)d->lo)
            return d->lo;
        if (x >= (double)d->hi)
            return d->hi;
        return (uint64_t)llround(x);
    }
    case DIST_INVSQUARE: {
        /* density ~ 1/x^2 on [lo, hi+1): invert F(x) = (1/lo - 1/x) / (1/lo - 1/(hi+1)). */
        double a = 1.0 / (double)d->lo, b = 1.0 / ((double)d->hi + 1.0);
        uint64_t x = (uint64_t)(1.0 / (a - rng_unit(r) * (a - b)));
        return x < d->lo ? d->lo : x > d->hi ? d->hi : x;
    }
    case DIST_TABLE: {
        double u = rng_unit(r);
        unsigned lo = 0, hi = d->n - 1; /* the first entry whose cum > u */
        while (lo < hi) {
            unsigned mid = (lo + hi) / 2;
            if (d->cum[mid] > u)
                hi = mid;
            else
                lo = mid + 1;
        }
        return d->size[lo];
    }
    }
    return d->lo;
}

double dist_cdf(const struct size_dist *d, uint64_t x)
{
    if (x < d->lo)
        return 0;
    if (x >= d->hi)
        return 1;
    switch (d->kind) {
    case DIST_FIXED:
        return 1;
    case DIST_UNIFORM:
        return (double)(x - d->lo + 1) / (double)(d->hi - d->lo + 1);
    case DIST_LOGNORMAL: /* rounding: sample <= x  <=>  exp(...) < x + 0.5 */
        return 0.5 * erfc(-(log((double)x + 0.5) - d->mu) / (d->sigma * sqrt(2.0)));
    case DIST_INVSQUARE: {
        double a = 1.0 / (double)d->lo, b = 1.0 / ((double)d->hi + 1.0);
        return (a - 1.0 / ((double)x + 1.0)) / (a - b);
    }
    case DIST_TABLE: {
        double c = 0;
        for (unsigned i = 0; i < d->n && d->size[i] <= x; i++)
            c = d->cum[i];
        return c;
    }
    }
    return 1;
}

void dist_format(const struct size_dist *d, char *buf, size_t len)
{
    switch (d->kind) {
    case DIST_FIXED:
        snprintf(buf, len, "fixed %llu", (unsigned long long)d->lo);
        break;
    case DIST_UNIFORM:
    case DIST_INVSQUARE:
        snprintf(buf, len, "%s %llu..%llu", d->kind == DIST_UNIFORM ? "uniform" : "inverse-square",
                 (unsigned long long)d->lo, (unsigned long long)d->hi);
        break;
    case DIST_LOGNORMAL:
        snprintf(buf, len, "lognormal %g,%g clamped %llu..%llu", d->mean, d->sigma, (unsigned long long)d->lo,
                 (unsigned long long)d->hi);
        break;
    case DIST_TABLE:
        snprintf(buf, len, "table of %u sizes %llu..%llu", d->n, (unsigned long long)d->lo,
                 (unsigned long long)d->hi);
        break;
    }
}
