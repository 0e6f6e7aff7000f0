/* scratch_dir.h - one temporary directory per test program, as cmocka group
 * setup/teardown: scratch_dir_setup makes $TMPDIR/allocmark-<name>.XXXXXX and
 * scratch_dir_teardown removes it with everything in it (flat: no subfolders). */
#ifndef ALLOCMARK_SCRATCH_DIR_H
#define ALLOCMARK_SCRATCH_DIR_H

#include <dirent.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static char scratch_dir[PATH_MAX];

static inline int scratch_dir_make(const char *name)
{
    const char *tmp = getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp";
    snprintf(scratch_dir, sizeof scratch_dir, "%s/allocmark-%s.XXXXXX", tmp, name);
    return mkdtemp(scratch_dir) ? 0 : -1;
}

static inline int scratch_dir_teardown(void **state)
{
    (void)state;
    DIR *d = opendir(scratch_dir);
    if (!d)
        return -1;
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
            continue;
        char p[PATH_MAX + 256];
        snprintf(p, sizeof p, "%s/%s", scratch_dir, e->d_name);
        unlink(p);
    }
    closedir(d);
    return rmdir(scratch_dir);
}

#endif
