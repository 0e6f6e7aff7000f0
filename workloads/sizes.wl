# sizes.wl - alloc/free latency by size class: read the per-phase figures of a --latency run.
generator   = sizes
description = one phase per size class (16-byte steps to 128, then 4 per doubling to 4K): 20,000 live, 2M ops each
max         = 4K
live        = 20000
ops         = 2M
