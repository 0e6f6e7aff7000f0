# fragment.wl - small objects punched full of holes, then larger ones that do not fit.
generator   = fragment
description = 64 MB of 16..128 B objects, every other freed, the freed bytes reallocated as 256..4K B objects; 22 rounds
mode        = holes
fill        = 64M
small       = uniform 16..128
large       = uniform 256..4K
pattern     = alternate
refill      = 100%
rounds      = 22
