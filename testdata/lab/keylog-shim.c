/* An LD_PRELOAD library that makes a program linked with OpenSSL (1.1.1
 * or later) append its TLS secrets to $SSLKEYLOGFILE in the NSS key log
 * format: it wraps SSL_new and installs a key log callback on the
 * context first. For xfreerdp 2.x and xrdp 0.9, which have no option for
 * it. Build: cc -shared -fPIC -o keylog-shim.so keylog-shim.c -ldl -lssl */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <fcntl.h>
#include <openssl/ssl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static void write_line(const SSL *ssl, const char *line) {
    (void)ssl;
    const char *path = getenv("SSLKEYLOGFILE");
    if (!path || !line) return;
    int fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0600);
    if (fd < 0) return;
    size_t n = strlen(line);
    char *buf = malloc(n + 1);
    if (buf) {
        memcpy(buf, line, n);
        buf[n] = '\n';
        /* one write per line: processes that fork (xrdp) append whole lines */
        (void)!write(fd, buf, n + 1);
        free(buf);
    }
    close(fd);
}

SSL *SSL_new(SSL_CTX *ctx) {
    static SSL *(*real)(SSL_CTX *) = NULL;
    if (!real) real = (SSL *(*)(SSL_CTX *))dlsym(RTLD_NEXT, "SSL_new");
    if (ctx) SSL_CTX_set_keylog_callback(ctx, write_line);
    return real ? real(ctx) : NULL;
}
