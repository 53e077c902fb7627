/* LD_PRELOAD shim for the lab's idle-timeout scenario: setsockopt(SO_KEEPALIVE)
 * becomes a no-op, so that the client's socket stays silent while the session
 * is idle (FreeRDP 2 always turns TCP keep-alives on, with a 5 s idle time).
 * Every other socket option is passed through unchanged.
 *   cc -shared -fPIC -o no-keepalive.so no-keepalive.c -ldl */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <sys/socket.h>

int setsockopt(int fd, int level, int name, const void *val, socklen_t len)
{
    static int (*real)(int, int, int, const void *, socklen_t);
    if (level == SOL_SOCKET && name == SO_KEEPALIVE)
        return 0;
    if (!real)
        real = (int (*)(int, int, int, const void *, socklen_t))dlsym(RTLD_NEXT, "setsockopt");
    return real ? real(fd, level, name, val, len) : -1;
}
