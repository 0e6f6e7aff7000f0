# prodcons.wl: producers allocate, consumers free (every free is remote)
generator = prodcons
description = 1 producer, 1 consumer, messages of 16 B..4 KiB (lognormal), at most 1000 in flight
seed = 1
producers = 1
consumers = 1
messages = 20M
size = lognormal 256,1.0 clamped 16..4K
depth = 1000
batch = 64
