# aligned.wl - aligned allocations (16..4K alignment) mixed with malloc and calloc.
generator   = aligned
description = 20,000 live objects of 16..4K B; 30% aligned to a power of two in 16..4K, 5% calloc, the rest malloc
live          = 20000
ops           = 40M
size          = uniform 16..4K
align         = 16..4K
aligned_share = 30%
calloc_share  = 5%
