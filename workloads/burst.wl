# burst.wl - load a million small objects, drop them all, 24 times.
generator   = burst
description = 1M objects of 16..256 B allocated then freed in order, 24 rounds
objects     = 1M
rounds      = 24
size        = uniform 16..256
free_order  = fifo
