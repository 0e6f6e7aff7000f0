# larson.wl: Larson & Krishnan's server benchmark, sized as mimalloc-bench runs it
generator = larson
description = 2 threads x 5,000 slots of 8..1000 B; each op replaces a random slot; arrays change hands 50 times
seed = 1
threads = 2
slots = 5000
size = uniform 8..1000
ops = 60M
rounds = 50
handoff = next
batch = 256
