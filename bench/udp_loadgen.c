/* UDP load generator for the datagram benchmark: a separate native process, loopback only.
 * epoll, non-blocking, one thread.
 *
 *   udp_loadgen PORT SOCKETS INFLIGHT SIZE SECONDS WARMUP
 *
 * Each of SOCKETS client sockets keeps INFLIGHT datagrams of SIZE bytes in flight to
 * 127.0.0.1:PORT and sends one more for each reply. A datagram lost on the way (UDP may drop) is
 * replaced after 20 ms of silence on that socket. After WARMUP seconds it prints "measuring" on
 * stderr, counts replies for SECONDS more, prints {"msgs":N,"seconds":T} on stdout and exits. An
 * alarm ends it regardless. */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

struct client { int fd; int inflight; double last; };

static double now(void) { struct timespec t; clock_gettime(CLOCK_MONOTONIC, &t); return t.tv_sec + t.tv_nsec / 1e9; }

static void top_up(struct client *c, const char *out, long size, int want) {
  while (c->inflight < want) {
    if (send(c->fd, out, size, 0) < 0) break; /* full or refused: the next round tries again */
    c->inflight++;
  }
}

int main(int argc, char **argv) {
  if (argc != 7) { fprintf(stderr, "usage: udp_loadgen PORT SOCKETS INFLIGHT SIZE SECONDS WARMUP\n"); return 2; }
  int port = atoi(argv[1]), n = atoi(argv[2]), want = atoi(argv[3]); long size = atol(argv[4]);
  double seconds = atof(argv[5]), warmup = atof(argv[6]);
  if (port < 1 || n < 1 || want < 1 || size < 1 || size > 65507 || seconds <= 0) { fprintf(stderr, "bad arguments\n"); return 2; }
  alarm((unsigned)(seconds + warmup + 30));
  char *out = malloc(size), in[65536];
  memset(out, 'u', size);
  struct client *c = calloc(n, sizeof *c);
  int ep = epoll_create1(EPOLL_CLOEXEC);
  struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons(port) };
  inet_pton(AF_INET, "127.0.0.1", &sa.sin_addr);
  for (int i = 0; i < n; i++) {
    c[i].fd = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (c[i].fd < 0 || connect(c[i].fd, (struct sockaddr *)&sa, sizeof sa) != 0) { perror("socket/connect"); return 1; }
    struct epoll_event ev = { .events = EPOLLIN | EPOLLET, .data.u32 = i };
    epoll_ctl(ep, EPOLL_CTL_ADD, c[i].fd, &ev);
    c[i].last = now();
    top_up(&c[i], out, size, want);
  }
  long msgs = 0; int measuring = 0;
  double start = now(), t0 = start;
  struct epoll_event evs[512];
  for (;;) {
    double t = now();
    if (!measuring && t - start >= warmup) { measuring = 1; msgs = 0; t0 = t; fprintf(stderr, "measuring\n"); }
    if (measuring && t - t0 >= seconds) break;
    int k = epoll_wait(ep, evs, 512, 10);
    t = now();
    for (int e = 0; e < k; e++) {
      struct client *x = &c[evs[e].data.u32];
      for (;;) {
        ssize_t r = recv(x->fd, in, sizeof in, 0);
        if (r >= 0) { msgs++; if (x->inflight > 0) x->inflight--; x->last = t; continue; }
        if (errno == EINTR) continue;
        if (errno == EAGAIN || errno == ECONNREFUSED) break;
        perror("recv"); return 1;
      }
      top_up(x, out, size, want);
    }
    for (int i = 0; i < n; i++) {  /* a socket silent for 20 ms lost some: send again */
      if (t - c[i].last > 0.02) { c[i].inflight = 0; c[i].last = t; top_up(&c[i], out, size, want); }
    }
  }
  printf("{\"msgs\":%ld,\"seconds\":%.3f}\n", msgs, now() - t0);
  return 0;
}
