/* Load generator for the echo benchmarks: a separate native process, so the measured server is
 * the only Node in the loop. epoll, non-blocking, edge-triggered, one thread.
 *
 *   loadgen HOST PORT CONNS SIZE SECONDS MODE WARMUP [DEPTH]
 *     MODE pingpong: each connection keeps DEPTH requests of SIZE bytes in flight (default 1: it
 *       sends SIZE bytes and waits for all of them to come back); a message is SIZE bytes echoed.
 *     MODE bulk: each connection streams SIZE-byte writes, keeping at most 1 MiB in flight.
 *
 * After WARMUP seconds it prints "measuring" on stderr, counts for SECONDS more, prints one JSON
 * line {"msgs":N,"bytes":B,"seconds":T} on stdout and exits. An alarm ends it regardless. */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

struct conn { int fd; long sent, recvd, acc; };

static double now(void) { struct timespec t; clock_gettime(CLOCK_MONOTONIC, &t); return t.tv_sec + t.tv_nsec / 1e9; }

int main(int argc, char **argv) {
  if (argc != 8 && argc != 9) { fprintf(stderr, "usage: loadgen HOST PORT CONNS SIZE SECONDS MODE WARMUP [DEPTH]\n"); return 2; }
  const char *host = argv[1]; int port = atoi(argv[2]), n = atoi(argv[3]); long size = atol(argv[4]);
  double seconds = atof(argv[5]), warmup = atof(argv[7]); int bulk = strcmp(argv[6], "bulk") == 0;
  long depth = argc == 9 ? atol(argv[8]) : 1;
  if (n < 1 || size < 1 || seconds <= 0 || depth < 1 || depth * size > 65536) { fprintf(stderr, "bad arguments\n"); return 2; }
  alarm((unsigned)(seconds + warmup + 30));
  signal(SIGPIPE, SIG_IGN);
  const long window = 1 << 20;
  char *out = malloc(size > 65536 ? size : 65536), *in = malloc(1 << 16);
  memset(out, 'x', size > 65536 ? size : 65536);
  struct conn *c = calloc(n, sizeof *c);
  int ep = epoll_create1(EPOLL_CLOEXEC);
  struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons(port) };
  inet_pton(AF_INET, host, &sa.sin_addr);
  for (int i = 0; i < n; i++) {
    c[i].fd = socket(AF_INET, SOCK_STREAM, 0);
    if (connect(c[i].fd, (struct sockaddr *)&sa, sizeof sa) != 0) { perror("connect"); return 1; }
    int one = 1; setsockopt(c[i].fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    if (fcntl(c[i].fd, F_SETFL, O_NONBLOCK) != 0) { perror("fcntl"); return 1; }
    struct epoll_event ev = { .events = EPOLLIN | EPOLLOUT | EPOLLET, .data.u32 = i };
    epoll_ctl(ep, EPOLL_CTL_ADD, c[i].fd, &ev);
  }
  long msgs = 0, bytes = 0; int measuring = 0;
  double start = now(), t0 = start;
  struct epoll_event evs[512];
  for (;;) {
    double t = now();
    if (!measuring && t - start >= warmup) { measuring = 1; msgs = bytes = 0; t0 = t; fprintf(stderr, "measuring\n"); }
    if (measuring && t - t0 >= seconds) break;
    int k = epoll_wait(ep, evs, 512, 100);
    for (int e = 0; e < k; e++) {
      struct conn *x = &c[evs[e].data.u32];
      for (;;) { /* read everything there is */
        ssize_t r = read(x->fd, in, 1 << 16);
        if (r > 0) {
          x->recvd += r; bytes += r;
          if (!bulk) for (x->acc += r; x->acc >= size; x->acc -= size) msgs++;
          continue;
        }
        if (r == 0) { fprintf(stderr, "server closed a connection\n"); return 1; }
        if (errno == EAGAIN) break;
        if (errno == EINTR) continue;
        perror("read"); return 1;
      }
      for (;;) { /* write what the mode allows */
        long want = bulk ? (x->sent - x->recvd < window ? size : 0) : depth * size - (x->sent - x->recvd);
        if (want <= 0) break;
        ssize_t w = write(x->fd, out, want);
        if (w > 0) { x->sent += w; continue; }
        if (w < 0 && errno == EAGAIN) break;
        if (w < 0 && errno == EINTR) continue;
        perror("write"); return 1;
      }
    }
  }
  double el = now() - t0;
  printf("{\"msgs\":%ld,\"bytes\":%ld,\"seconds\":%.3f}\n", bulk ? bytes / size : msgs, bytes, el);
  return 0;
}
