/* addr_map.c - see addr_map.h. */
#include <stdlib.h>

#include "addr_map.h"

static size_t home(const struct addr_map *m, uint64_t a)
{
    a ^= a >> 33;
    a *= 0xff51afd7ed558ccdull;
    a ^= a >> 33;
    return (size_t)a & (m->cap - 1);
}

void addr_map_init(struct addr_map *m)
{
    m->s = NULL;
    m->cap = m->used = 0;
}

void addr_map_free(struct addr_map *m)
{
    free(m->s);
    addr_map_init(m);
}

static struct addr_slot *find(const struct addr_map *m, uint64_t addr)
{
    size_t i = home(m, addr);
    while (m->s[i].addr && m->s[i].addr != addr)
        i = (i + 1) & (m->cap - 1);
    return &m->s[i];
}

int addr_map_get(const struct addr_map *m, uint64_t addr, uint64_t *obj)
{
    if (!m->cap)
        return 0;
    const struct addr_slot *s = find(m, addr);
    if (!s->addr)
        return 0;
    *obj = s->obj;
    return 1;
}

static int grow(struct addr_map *m)
{
    struct addr_map n = { .cap = m->cap ? m->cap * 2 : 4096 };
    n.s = calloc(n.cap, sizeof *n.s);
    if (!n.s)
        return -1;
    for (size_t i = 0; i < m->cap; i++)
        if (m->s[i].addr)
            *find(&n, m->s[i].addr) = m->s[i];
    n.used = m->used;
    free(m->s);
    *m = n;
    return 0;
}

int addr_map_put(struct addr_map *m, uint64_t addr, uint64_t obj)
{
    if ((m->used + 1) * 2 > m->cap && grow(m) != 0)
        return -1;
    struct addr_slot *s = find(m, addr);
    s->addr = addr;
    s->obj = obj;
    m->used++;
    return 0;
}

int addr_map_take(struct addr_map *m, uint64_t addr, uint64_t *obj)
{
    if (!m->cap)
        return 0;
    struct addr_slot *hole = find(m, addr);
    if (!hole->addr)
        return 0;
    *obj = hole->obj;
    /* backward shift: move later members of the probe run into the hole */
    size_t mask = m->cap - 1, i = (size_t)(hole - m->s), j = i;
    for (;;) {
        j = (j + 1) & mask;
        if (!m->s[j].addr)
            break;
        size_t h = home(m, m->s[j].addr);
        if ((i <= j) ? (h <= i || h > j) : (h <= i && h > j)) {
            m->s[i] = m->s[j];
            i = j;
        }
    }
    m->s[i].addr = 0;
    m->used--;
    return 1;
}
