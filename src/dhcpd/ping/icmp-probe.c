/*
 * alcor-icmp-probe: the ICMP echo prober of `alcor-operator dhcpd` (Node has
 * no raw or ICMP sockets). One long-lived process per server; probes run
 * concurrently, so a slow or silent address never holds up another.
 *
 * stdin, one line per probe:   <tag> <ipv4> <timeout-ms>
 * stdout, one line per result: <tag> reply | <tag> timeout | <tag> error <reason>
 * First line written: "ready dgram" or "ready raw" (the socket in use), or
 * "fail <reason>" and exit status 2 when no ICMP socket can be opened.
 *
 * Socket: an unprivileged ICMP datagram socket first (Linux "ping socket",
 * allowed when the process's group is in net.ipv4.ping_group_range, a safe
 * sysctl a pod may set), else a raw socket (needs CAP_NET_RAW). Exits when
 * stdin closes.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/ip.h>
#include <netinet/ip_icmp.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define MAX_PENDING 4096
#define TAG_MAX 32

struct probe {
  int used;
  char tag[TAG_MAX + 1];
  uint32_t addr;      /* network order */
  uint16_t seq;
  uint32_t token;     /* in the payload: a reply must carry it back */
  int64_t deadline;   /* ms, CLOCK_MONOTONIC */
};

static struct probe pending[MAX_PENDING];
static int sock = -1;
static int raw = 0;
static uint16_t ident;
static uint16_t next_seq = 1;
static uint32_t token_base;

static int64_t now_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static uint16_t checksum(const void *data, size_t len) {
  const uint8_t *p = data;
  uint32_t sum = 0;
  for (; len > 1; len -= 2, p += 2) sum += (uint32_t)(p[0] << 8 | p[1]);
  if (len) sum += (uint32_t)(p[0] << 8);
  while (sum >> 16) sum = (sum & 0xffff) + (sum >> 16);
  return htons((uint16_t)~sum);
}

static void say(const char *tag, const char *what) {
  printf("%s %s\n", tag, what);
  fflush(stdout);
}

static void start(const char *tag, const char *ip, long timeout) {
  struct in_addr a;
  if (inet_pton(AF_INET, ip, &a) != 1 || timeout <= 0 || timeout > 60000) {
    say(tag, "error bad-request");
    return;
  }
  int slot = -1;
  for (int i = 0; i < MAX_PENDING; i++) {
    if (!pending[i].used) { slot = i; break; }
  }
  if (slot < 0) {
    say(tag, "error busy");
    return;
  }
  struct probe *p = &pending[slot];
  p->used = 1;
  snprintf(p->tag, sizeof p->tag, "%s", tag);
  p->addr = a.s_addr;
  p->seq = next_seq++;
  p->token = token_base ^ ((uint32_t)slot << 16) ^ p->seq;
  p->deadline = now_ms() + timeout;

  uint8_t pkt[16];
  struct icmphdr *h = (struct icmphdr *)pkt;
  memset(pkt, 0, sizeof pkt);
  h->type = ICMP_ECHO;
  h->code = 0;
  h->un.echo.id = htons(ident); /* a datagram socket replaces it with its own */
  h->un.echo.sequence = htons(p->seq);
  memcpy(pkt + 8, &p->token, 4);
  h->checksum = checksum(pkt, sizeof pkt);
  struct sockaddr_in to = { .sin_family = AF_INET, .sin_addr = a };
  if (sendto(sock, pkt, sizeof pkt, 0, (struct sockaddr *)&to, sizeof to) < 0) {
    char why[64];
    snprintf(why, sizeof why, "error %s", errno == ENETUNREACH || errno == EHOSTUNREACH ? "unreachable" : "send-failed");
    /* An unreachable address has nobody on it: the caller treats it as free. */
    say(p->tag, why);
    p->used = 0;
  }
}

static void receive(void) {
  uint8_t buf[1500];
  struct sockaddr_in from;
  for (;;) {
    socklen_t fl = sizeof from;
    ssize_t n = recvfrom(sock, buf, sizeof buf, MSG_DONTWAIT, (struct sockaddr *)&from, &fl);
    if (n < 0) return;
    uint8_t *icmp = buf;
    if (raw) {
      if (n < (ssize_t)sizeof(struct iphdr)) continue;
      size_t ihl = (size_t)(buf[0] & 0x0f) * 4;
      if ((size_t)n < ihl + 12) continue;
      icmp = buf + ihl;
      n -= (ssize_t)ihl;
    }
    if (n < 12) continue;
    struct icmphdr *h = (struct icmphdr *)icmp;
    if (h->type != ICMP_ECHOREPLY) continue;
    if (raw && ntohs(h->un.echo.id) != ident) continue;
    uint16_t seq = ntohs(h->un.echo.sequence);
    uint32_t token;
    memcpy(&token, icmp + 8, 4);
    for (int i = 0; i < MAX_PENDING; i++) {
      struct probe *p = &pending[i];
      if (p->used && p->seq == seq && p->token == token && p->addr == from.sin_addr.s_addr) {
        say(p->tag, "reply");
        p->used = 0;
        break;
      }
    }
  }
}

static void expire(void) {
  int64_t t = now_ms();
  for (int i = 0; i < MAX_PENDING; i++) {
    if (pending[i].used && pending[i].deadline <= t) {
      say(pending[i].tag, "timeout");
      pending[i].used = 0;
    }
  }
}

static int next_timeout(void) {
  int64_t t = now_ms(), best = -1;
  for (int i = 0; i < MAX_PENDING; i++) {
    if (!pending[i].used) continue;
    int64_t left = pending[i].deadline - t;
    if (left < 0) left = 0;
    if (best < 0 || left < best) best = left;
  }
  return (int)best;
}

/* Handles the complete lines in buf; returns how many bytes were consumed. */
static size_t handle_lines(char *buf, size_t len) {
  size_t done = 0;
  for (;;) {
    char *nl = memchr(buf + done, '\n', len - done);
    if (!nl) break;
    *nl = '\0';
    char tag[TAG_MAX + 1], ip[64];
    long timeout;
    if (sscanf(buf + done, "%32s %63s %ld", tag, ip, &timeout) == 3) start(tag, ip, timeout);
    done = (size_t)(nl - buf) + 1;
  }
  return done;
}

int main(void) {
  sock = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, IPPROTO_ICMP);
  if (sock < 0) {
    int dgram_errno = errno;
    sock = socket(AF_INET, SOCK_RAW | SOCK_CLOEXEC, IPPROTO_ICMP);
    if (sock < 0) {
      printf("fail no ICMP socket: datagram: %s (is the process's group in net.ipv4.ping_group_range?); raw: %s (needs CAP_NET_RAW)\n",
             strerror(dgram_errno), strerror(errno));
      fflush(stdout);
      return 2;
    }
    raw = 1;
  }
  ident = (uint16_t)(getpid() & 0xffff);
  token_base = (uint32_t)getpid() * 2654435761u ^ (uint32_t)now_ms();
  printf("ready %s\n", raw ? "raw" : "dgram");
  fflush(stdout);

  char in[65536];
  size_t have = 0;
  for (;;) {
    struct pollfd fds[2] = { { .fd = 0, .events = POLLIN }, { .fd = sock, .events = POLLIN } };
    int r = poll(fds, 2, next_timeout());
    if (r < 0 && errno != EINTR) return 1;
    if (fds[1].revents & POLLIN) receive();
    if (fds[0].revents & (POLLIN | POLLHUP)) {
      ssize_t n = read(0, in + have, sizeof in - have - 1);
      if (n <= 0) return 0; /* the server went away */
      have += (size_t)n;
      size_t used = handle_lines(in, have);
      memmove(in, in + used, have - used);
      have -= used;
      if (have == sizeof in - 1) have = 0; /* a line longer than the buffer: drop it */
    }
    expire();
  }
}
