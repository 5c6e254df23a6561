/* Native baseline: an epoll echo server in C, doing what examples/tcp_server.ts does (edge-
 * triggered, short read means drained unless read-closed, pending bytes on a short write).
 *   echo PORT   prints "listening on 127.0.0.1:PORT"; SIGTERM ends it. */
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
#include <unistd.h>

struct conn { int fd; char *pend; long from, to; };
static struct conn *conns[65536];
static char buf[65536];

static void drop(int ep, struct conn *c) { epoll_ctl(ep, EPOLL_CTL_DEL, c->fd, NULL); close(c->fd); conns[c->fd] = NULL; free(c->pend); free(c); }
static void mod(int ep, struct conn *c, unsigned ev) { struct epoll_event e = { .events = ev | EPOLLET | EPOLLRDHUP, .data.fd = c->fd }; epoll_ctl(ep, EPOLL_CTL_MOD, c->fd, &e); }

static int flush(int ep, struct conn *c) {
  while (c->from < c->to) {
    ssize_t w = send(c->fd, c->pend + c->from, c->to - c->from, MSG_NOSIGNAL);
    if (w < 0) { if (errno == EAGAIN) return 0; return -1; }
    c->from += w;
  }
  c->from = c->to = 0; mod(ep, c, EPOLLIN); return 1;
}

static int echo(int ep, struct conn *c, int closed) {
  for (;;) {
    ssize_t n = recv(c->fd, buf, sizeof buf, 0);
    if (n < 0) return errno == EAGAIN ? 0 : -1;
    if (n == 0) return -1;
    ssize_t w = send(c->fd, buf, n, MSG_NOSIGNAL);
    if (w < 0) { if (errno != EAGAIN) return -1; w = 0; }
    if (w < n) {
      if (!c->pend) c->pend = malloc(sizeof buf);
      memcpy(c->pend, buf + w, n - w); c->from = 0; c->to = n - w;
      mod(ep, c, EPOLLOUT); return 0;
    }
    if (n < (ssize_t)sizeof buf && !closed) return 0;
  }
}

int main(int argc, char **argv) {
  int port = argc > 1 ? atoi(argv[1]) : 0;
  signal(SIGPIPE, SIG_IGN);
  int l = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0), one = 1;
  setsockopt(l, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons(port) };
  inet_pton(AF_INET, "127.0.0.1", &sa.sin_addr);
  if (bind(l, (struct sockaddr *)&sa, sizeof sa) || listen(l, 1024)) { perror("bind"); return 1; }
  socklen_t len = sizeof sa; getsockname(l, (struct sockaddr *)&sa, &len);
  printf("listening on 127.0.0.1:%d\n", ntohs(sa.sin_port)); fflush(stdout);
  int ep = epoll_create1(EPOLL_CLOEXEC);
  struct epoll_event e = { .events = EPOLLIN | EPOLLET, .data.fd = l };
  epoll_ctl(ep, EPOLL_CTL_ADD, l, &e);
  struct epoll_event evs[1024];
  for (;;) {
    int k = epoll_wait(ep, evs, 1024, -1);
    for (int i = 0; i < k; i++) {
      int fd = evs[i].data.fd;
      if (fd == l) {
        int s;
        while ((s = accept4(l, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC)) >= 0) {
          if (s >= 65536) { close(s); continue; }
          struct conn *c = calloc(1, sizeof *c); c->fd = s; conns[s] = c;
          struct epoll_event ce = { .events = EPOLLIN | EPOLLET | EPOLLRDHUP, .data.fd = s };
          epoll_ctl(ep, EPOLL_CTL_ADD, s, &ce);
        }
        continue;
      }
      struct conn *c = conns[fd];
      if (!c) continue;
      unsigned ev = evs[i].events;
      int r = c->to > 0 ? ((ev & (EPOLLOUT | EPOLLERR)) ? flush(ep, c) : 0) : 1;
      if (r == 1 && c->to == 0) r = echo(ep, c, (ev & (EPOLLRDHUP | EPOLLHUP | EPOLLERR)) != 0 || !(ev & EPOLLIN));
      if (r < 0) drop(ep, c);
    }
  }
}
