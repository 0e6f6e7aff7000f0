/* os_proc.c - see os_proc.h. */
#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "os_proc.h"

static volatile pid_t g_child;

/* SIGTERM or SIGHUP to us: pass it on to the command, and go on waiting. */
static void forward(int sig)
{
    if (g_child > 0)
        kill(g_child, sig);
}

int os_spawn_wait(char *const argv[], pid_t *pid, int *status)
{
    fflush(NULL);
    struct sigaction ign = { .sa_handler = SIG_IGN }, fwd = { .sa_handler = forward }, old_int, old_quit, old_term,
                     old_hup;
    sigemptyset(&ign.sa_mask);
    sigemptyset(&fwd.sa_mask);
    sigaction(SIGINT, &ign, &old_int);
    sigaction(SIGQUIT, &ign, &old_quit);
    sigaction(SIGTERM, &fwd, &old_term);
    sigaction(SIGHUP, &fwd, &old_hup);
    pid_t p = fork();
    if (p == 0) {
        sigaction(SIGINT, &old_int, NULL);
        sigaction(SIGQUIT, &old_quit, NULL);
        sigaction(SIGTERM, &old_term, NULL);
        sigaction(SIGHUP, &old_hup, NULL);
        execvp(argv[0], argv);
        fprintf(stderr, "allocmark-trace record: %s: cannot run: %s\n", argv[0], strerror(errno));
        _exit(127);
    }
    int st, rc = 0;
    if (p < 0) {
        rc = -1;
    } else {
        *pid = g_child = p;
        while (waitpid(p, &st, 0) < 0)
            if (errno != EINTR) {
                rc = -1;
                break;
            }
        g_child = 0;
    }
    int e = errno;
    sigaction(SIGINT, &old_int, NULL);
    sigaction(SIGQUIT, &old_quit, NULL);
    sigaction(SIGTERM, &old_term, NULL);
    sigaction(SIGHUP, &old_hup, NULL);
    errno = e;
    if (rc == 0)
        *status = WIFSIGNALED(st) ? -WTERMSIG(st) : WEXITSTATUS(st);
    return rc;
}

int os_self_dir(char *buf, size_t len)
{
    char path[PATH_MAX];
    ssize_t n = readlink("/proc/self/exe", path, sizeof path - 1);
    if (n <= 0)
        return -1;
    path[n] = '\0';
    char *slash = strrchr(path, '/');
    if (!slash)
        return -1;
    *slash = '\0';
    if ((size_t)snprintf(buf, len, "%s", path) >= len) {
        errno = ENAMETOOLONG;
        return -1;
    }
    return 0;
}

int os_dir_writable(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0 && S_ISDIR(st.st_mode) && access(path, W_OK | X_OK) == 0;
}

int os_make_temp_dir(char *buf, size_t len, const char *base, const char *name)
{
    const char *tmp = base ? base : getenv("TMPDIR");
    if (!tmp || !*tmp)
        tmp = "/tmp";
    if ((size_t)snprintf(buf, len, "%s/%s.XXXXXX", tmp, name) >= len) {
        errno = ENAMETOOLONG;
        return -1;
    }
    return mkdtemp(buf) ? 0 : -1;
}

int os_list_dir(const char *dir, int (*fn)(const char *name, void *arg), void *arg)
{
    DIR *d = opendir(dir);
    if (!d)
        return -1;
    int rc = 0;
    struct dirent *e;
    while (rc == 0 && (e = readdir(d)) != NULL)
        if (strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0)
            rc = fn(e->d_name, arg);
    closedir(d);
    return rc;
}

int os_make_dir(const char *dir)
{
    return mkdir(dir, 0777) == 0 || errno == EEXIST ? 0 : -1;
}

int os_make_dirs(const char *dir)
{
    char tmp[4096];
    if (snprintf(tmp, sizeof tmp, "%s", dir) >= (int)sizeof tmp) {
        errno = ENAMETOOLONG;
        return -1;
    }
    for (char *p = tmp + 1; *p; p++)
        if (*p == '/') {
            *p = '\0';
            if (os_make_dir(tmp) != 0)
                return -1;
            *p = '/';
        }
    return os_make_dir(tmp);
}

int os_remove_file(const char *path)
{
    return unlink(path);
}

int os_remove_dir(const char *dir)
{
    return rmdir(dir);
}

int os_file_size(const char *path, unsigned long long *size)
{
    struct stat st;
    if (stat(path, &st) != 0)
        return -1;
    *size = (unsigned long long)st.st_size;
    return 0;
}
