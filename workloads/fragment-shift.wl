# fragment-shift.wl - a byte-bounded cache whose values grow (memcached's slab calcification).
generator   = fragment
description = a 64 MB cache of values whose sizes grow 1.5x in each of 8 steps (from ~96 B to ~1.6 KB); random eviction
mode        = shift
live        = 64M
size        = lognormal 96,0.5 clamped 16..512
growth      = 1.5
steps       = 8
ops         = 24M
