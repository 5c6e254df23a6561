/* Native baseline for the datagram benchmark: a UDP echo server in C, one datagram per call
 * (recvfrom/sendto until would-block, epoll edge-triggered), as metal-io's per-datagram path.
 *   udp_echo PORT   prints "listening on 127.0.0.1:PORT"; SIGTERM ends it. */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

int main(int argc, char **argv) {
  int fd = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons(argc > 1 ? atoi(argv[1]) : 0) };
  inet_pton(AF_INET, "127.0.0.1", &sa.sin_addr);
  if (bind(fd, (struct sockaddr *)&sa, sizeof sa) != 0) { perror("bind"); return 1; }
  socklen_t sl = sizeof sa; getsockname(fd, (struct sockaddr *)&sa, &sl);
  printf("listening on 127.0.0.1:%d\n", ntohs(sa.sin_port)); fflush(stdout);
  int ep = epoll_create1(EPOLL_CLOEXEC);
  struct epoll_event ev = { .events = EPOLLIN | EPOLLET }, evs[8];
  epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev);
  static char buf[65536];
  for (;;) {
    if (epoll_wait(ep, evs, 8, -1) < 0 && errno != EINTR) { perror("epoll_wait"); return 1; }
    for (;;) {
      struct sockaddr_storage from; socklen_t fl = sizeof from;
      ssize_t r = recvfrom(fd, buf, sizeof buf, 0, (struct sockaddr *)&from, &fl);
      if (r < 0) { if (errno == EINTR) continue; break; }
      sendto(fd, buf, r, 0, (struct sockaddr *)&from, fl);
    }
  }
}
