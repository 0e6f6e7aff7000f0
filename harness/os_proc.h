/* os_proc.h - the process and directory calls of `allocmark-trace record`: run a
 * command and wait for it, find our own executable, a private temporary folder.
 * Apart from os.c so that the recorder's needs stay out of the replayer's file. */
#ifndef ALLOCMARK_OS_PROC_H
#define ALLOCMARK_OS_PROC_H

#include <stddef.h>
#include <sys/types.h>

/* Run argv (PATH searched) with the current environment, and wait for it.
 * SIGINT and SIGQUIT are ignored while waiting (as system() does), and SIGTERM
 * and SIGHUP are passed on to the command, so ^C or a kill stops the command and
 * the caller still gets to finish its work (and clean up). *pid is the child's
 * pid; *status its exit code (127 when it could not be run), or -signal when a
 * signal killed it. Returns 0, or -1 with errno when fork or waitpid failed. */
int os_spawn_wait(char *const argv[], pid_t *pid, int *status);

/* The folder holding the running executable (from /proc/self/exe). 0 or -1. */
int os_self_dir(char *buf, size_t len);

/* A new private folder BASE/NAME.XXXXXX (BASE NULL: $TMPDIR, else /tmp); 0 or -1 with errno. */
int os_make_temp_dir(char *buf, size_t len, const char *base, const char *name);
/* 1 if path is a folder we may write to. */
int os_dir_writable(const char *path);

/* Call fn for each entry of dir other than . and ..; stops at the first non-zero
 * return and returns it. -1 with errno when dir cannot be read. */
int os_list_dir(const char *dir, int (*fn)(const char *name, void *arg), void *arg);

int os_make_dir(const char *dir);     /* mkdir 0777, an existing folder is fine: 0 or -1 */
int os_make_dirs(const char *dir);    /* the same, with any missing parents */
int os_remove_file(const char *path); /* 0 or -1 */
int os_remove_dir(const char *dir);   /* an empty folder: 0 or -1 */
int os_file_size(const char *path, unsigned long long *size); /* 0 or -1 */

#endif
