# idle.wl - a load spike, then quiet: what goes back to the OS?
generator   = idle
description = grow to 200 MB of 16..512 B objects, free all but a random 10%, idle 1.5 s; 3 cycles, then free all and idle again
peak        = 200M
size        = uniform 16..512
keep        = 10%
idle        = 1500ms
cycles      = 3
