/* gen_list.c - lists of sizes in spec values. */
#include "gen_list.h"

#include <ctype.h>
#include <string.h>

int gen_size_list(struct gen *g, const char *key, const char *text, uint64_t min, uint64_t max, uint64_t *out,
                  size_t cap)
{
    size_t n = 0;
    const char *p = text;
    for (;;) {
        while (isspace((unsigned char)*p) || *p == ',')
            p++;
        if (!*p)
            break;
        const char *q = p;
        while (*q && !isspace((unsigned char)*q) && *q != ',')
            q++;
        char word[64];
        if ((size_t)(q - p) >= sizeof word)
            return gen_bad(g, key, "`%.*s` is not a size", (int)(q - p), p);
        memcpy(word, p, (size_t)(q - p));
        word[q - p] = '\0';
        uint64_t v;
        if (spec_parse_size(word, &v) != 0)
            return gen_bad(g, key, "`%s` is not a size (like 64 or 4K)", word);
        if (v < min || v > max)
            return gen_bad(g, key, "%s is outside %llu..%llu", word, (unsigned long long)min,
                           (unsigned long long)max);
        if (n && v <= out[n - 1])
            return gen_bad(g, key, "%s: the list must be in increasing order, without repeats", word);
        if (n == cap)
            return gen_bad(g, key, "more than %zu entries", cap);
        out[n++] = v;
        p = q;
    }
    if (n == 0)
        return gen_bad(g, key, "the list is empty");
    return (int)n;
}
