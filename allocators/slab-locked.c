/* slab-locked.c - the slab adapter with the thread cache off by default: every
 * call takes its class's lock (the seed author's configuration). */
#define SLAB_ADAPTER_NAME "slab-locked"
#define SLAB_ADAPTER_THREAD_CACHE 0
#include "slab.c"
