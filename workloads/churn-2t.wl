# churn-2t.wl - churn.wl on two threads: each churns its own pool of 20,000 objects.
generator   = churn
description = 2 threads, each with 20,000 live objects of 16..4K B; each op replaces a random one of its own
threads     = 2
live        = 20000
ops         = 40M
size        = uniform 16..4K
