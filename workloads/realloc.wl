# realloc.wl - vectors that double and strings that grow by appends.
generator   = realloc
description = 1000 buffers growing at once to ~1 KB (lognormal, up to 256K): 30% double, 70% append 16..256 B; 10,000 finished kept
buffers     = 3500k
building    = 1000
finished    = 10000
final       = lognormal 1024,1.0 clamped 16..256K
doubling    = 30%
initial     = 16
step        = uniform 16..256
shrink      = 25%
