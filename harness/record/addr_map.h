/* addr_map.h - address -> object number, for turning a recorded program's pointers
 * into trace object ids. Open addressing, linear probing, no tombstones. */
#ifndef ALLOCMARK_ADDR_MAP_H
#define ALLOCMARK_ADDR_MAP_H

#include <stddef.h>
#include <stdint.h>

struct addr_slot {
    uint64_t addr; /* 0 = empty (NULL is never a live block) */
    uint64_t obj;
};

struct addr_map {
    struct addr_slot *s;
    size_t cap, used;
};

void addr_map_init(struct addr_map *m);
void addr_map_free(struct addr_map *m);
/* 1 and *obj if addr is bound, else 0. */
int addr_map_get(const struct addr_map *m, uint64_t addr, uint64_t *obj);
/* Bind addr (not bound, non-zero) to obj. 0, or -1 when out of memory. */
int addr_map_put(struct addr_map *m, uint64_t addr, uint64_t obj);
/* Unbind addr; 1 and *obj if it was bound, else 0. */
int addr_map_take(struct addr_map *m, uint64_t addr, uint64_t *obj);

#endif
