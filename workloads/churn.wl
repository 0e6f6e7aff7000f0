# churn.wl - a steady pool of live objects whose members keep being replaced.
generator   = churn
description = 20,000 live objects of 16..4K B; each op frees a random one and allocates its replacement
live        = 20000
ops         = 40M
size        = uniform 16..4K
