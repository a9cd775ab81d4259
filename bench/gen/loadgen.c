/*
 * The benchmark's load generator and stall meter (bench/README.md, "Harness
 * (issue 19)"). Compiled by the harness at run time with the machine's cc;
 * nothing but this source is committed.
 *
 *   loadgen rate   PORT PATH RATE SECONDS CONNECTIONS   open loop, fixed rate
 *   loadgen closed PORT PATH SECONDS CONNECTIONS        closed loop, as fast as answered
 *   loadgen stall  SLEEP_US THRESHOLD_US                stall meter, until SIGTERM
 *
 * rate: call i is due at start + i / RATE. A due call goes out on the first
 * idle keep-alive connection; when none is idle it waits in a queue. Its
 * latency is measured from the time it was due, not from the time it was
 * written, so a stall of the target (or of this process) counts in full
 * against every call it delayed: no coordinated omission (as wrk2 does it).
 * closed: each connection sends its next call as soon as the last is
 * answered; latency from the write.
 * stall: sleeps SLEEP_US in a loop and counts the wake-ups that came more
 * than THRESHOLD_US late: time this core was not given back to a process that
 * asked for it, which a load generator on the same core would have suffered.
 *
 * Everything is on 127.0.0.1. One JSON line on stdout at the end.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <arpa/inet.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/timerfd.h>
#include <time.h>
#include <unistd.h>

#define BUF_SIZE 65536
#define FINE_SLOTS 100000   /* 1 us each: 0 to 100 ms */
#define COARSE_SLOTS 600000 /* 100 us each: 100 ms to 60 s */
#define SETTLE_NS (10LL * 1000000000LL)

static int64_t now_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (int64_t)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

/* Latency histogram, no allocation per call. */
static uint32_t fine[FINE_SLOTS];
static uint32_t coarse[COARSE_SLOTS];
static uint64_t overflow_count;
static uint64_t recorded;
static int64_t max_us;

static void record_ns(int64_t ns) {
  int64_t us = ns < 0 ? 0 : ns / 1000;
  if (us > max_us) max_us = us;
  recorded++;
  if (us < FINE_SLOTS) fine[us]++;
  else if ((us - FINE_SLOTS) / 100 < COARSE_SLOTS) coarse[(us - FINE_SLOTS) / 100]++;
  else overflow_count++;
}

static double quantile_ms(double q) {
  if (recorded == 0) return -1;
  uint64_t rank = (uint64_t)(q * (double)recorded);
  if ((double)rank < q * (double)recorded) rank++;
  if (rank < 1) rank = 1;
  uint64_t seen = 0;
  for (int i = 0; i < FINE_SLOTS; i++) {
    seen += fine[i];
    if (seen >= rank) return i / 1000.0;
  }
  for (int i = 0; i < COARSE_SLOTS; i++) {
    seen += coarse[i];
    if (seen >= rank) return (FINE_SLOTS + i * 100) / 1000.0;
  }
  return max_us / 1000.0;
}

enum { IDLE, BUSY, CONNECTING, DEAD };

struct conn {
  int fd;
  int state;
  int64_t started; /* due time (rate) or write time (closed) of the call in flight */
  size_t len;
  char buf[BUF_SIZE];
};

static struct conn *conns;
static int nconns;
static int epfd;
static struct sockaddr_in addr;
static char request[2048];
static size_t request_len;
static uint64_t sent, responses, non2xx, socket_errors;

static void open_conn(struct conn *c) {
  c->fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
  c->len = 0;
  if (c->fd < 0) { c->state = DEAD; return; }
  int one = 1;
  setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  int r = connect(c->fd, (struct sockaddr *)&addr, sizeof addr);
  if (r < 0 && errno != EINPROGRESS) { close(c->fd); c->state = DEAD; return; }
  c->state = r == 0 ? IDLE : CONNECTING;
  /* EPOLLOUT only until connected: level-triggered, it would wake the loop for ever */
  struct epoll_event ev = { .events = EPOLLIN | EPOLLRDHUP | (r == 0 ? 0 : EPOLLOUT), .data.ptr = c };
  epoll_ctl(epfd, EPOLL_CTL_ADD, c->fd, &ev);
}

/* A connection that failed or was closed: the call on it (if any) is an error; open a fresh one. */
static void reopen(struct conn *c) {
  if (c->state == BUSY) socket_errors++;
  epoll_ctl(epfd, EPOLL_CTL_DEL, c->fd, NULL);
  close(c->fd);
  open_conn(c);
}

static int send_call(struct conn *c, int64_t started) {
  ssize_t w = write(c->fd, request, request_len);
  if (w != (ssize_t)request_len) return -1; /* a 100-byte write to a fresh socket buffer does not go short */
  c->state = BUSY;
  c->started = started;
  c->len = 0;
  sent++;
  return 0;
}

/* Is a whole response in buf? Returns its length, 0 if not yet, -1 if malformed. Sets *status and *closes. */
static long parse_response(const char *buf, size_t len, int *status, int *closes) {
  const char *end = memmem(buf, len, "\r\n\r\n", 4);
  if (end == NULL) return len >= BUF_SIZE ? -1 : 0;
  size_t head = (size_t)(end - buf) + 4;
  if (len < 12 || memcmp(buf, "HTTP/1.", 7) != 0) return -1;
  *status = atoi(buf + 9);
  long content_length = -1;
  int chunked = 0;
  *closes = 0;
  const char *line = memchr(buf, '\n', head) + 1;
  while (line < buf + head - 2) {
    const char *eol = memchr(line, '\n', (size_t)(buf + head - line));
    if (eol == NULL) break;
    if (strncasecmp(line, "content-length:", 15) == 0) content_length = atol(line + 15);
    else if (strncasecmp(line, "transfer-encoding:", 18) == 0 && memmem(line, (size_t)(eol - line), "chunked", 7)) chunked = 1;
    else if (strncasecmp(line, "connection:", 11) == 0 && memmem(line, (size_t)(eol - line), "close", 5)) *closes = 1;
    line = eol + 1;
  }
  if (*status == 204 || *status == 304) return (long)head;
  if (chunked) {
    size_t at = head;
    for (;;) {
      const char *crlf = memmem(buf + at, len - at, "\r\n", 2);
      if (crlf == NULL) return 0;
      long size = strtol(buf + at, NULL, 16);
      at = (size_t)(crlf - buf) + 2;
      if (size == 0) {
        /* no trailers expected: the last chunk is followed by an empty line */
        if (len - at < 2) return 0;
        return (long)(at + 2);
      }
      if (len - at < (size_t)size + 2) return len >= BUF_SIZE ? -1 : 0;
      at += (size_t)size + 2;
    }
  }
  if (content_length < 0) return -1; /* read-until-close bodies are not used by any target */
  if (len < head + (size_t)content_length) return head + (size_t)content_length > BUF_SIZE ? -1 : 0;
  return (long)(head + (size_t)content_length);
}

/* Reads what arrived on c. Returns 1 when a call was completed (c is idle again). */
static int on_readable(struct conn *c, int64_t now) {
  for (;;) {
    ssize_t r = read(c->fd, c->buf + c->len, BUF_SIZE - c->len);
    if (r > 0) { c->len += (size_t)r; if (c->len < BUF_SIZE) continue; }
    else if (r < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) break;
    else { reopen(c); return 0; }
    break;
  }
  if (c->state != BUSY) return 0;
  int status = 0, closes = 0;
  long n = parse_response(c->buf, c->len, &status, &closes);
  if (n == 0) return 0;
  if (n < 0) { reopen(c); return 0; }
  record_ns(now - c->started);
  responses++;
  if (status < 200 || status > 299) non2xx++;
  c->state = IDLE;
  c->len = 0;
  if (closes) { reopen(c); }
  return 1;
}

static int parse_int(const char *s, const char *what) {
  char *end;
  long v = strtol(s, &end, 10);
  if (*end != '\0' || v <= 0) { fprintf(stderr, "loadgen: bad %s: %s\n", what, s); exit(2); }
  return (int)v;
}

static void setup(const char *port, const char *path, int connections) {
  memset(&addr, 0, sizeof addr);
  addr.sin_family = AF_INET;
  addr.sin_port = htons((uint16_t)parse_int(port, "port"));
  inet_pton(AF_INET, "127.0.0.1", &addr.sin_addr);
  request_len = (size_t)snprintf(request, sizeof request,
    "GET %s HTTP/1.1\r\nHost: 127.0.0.1:%s\r\nAccept: application/json\r\n\r\n", path, port);
  nconns = connections;
  conns = calloc((size_t)nconns, sizeof *conns);
  epfd = epoll_create1(0);
  for (int i = 0; i < nconns; i++) open_conn(&conns[i]);
}

static void print_result(int64_t elapsed_ns, uint64_t unanswered) {
  printf("{\"elapsedMs\":%.3f,\"sent\":%llu,\"responses\":%llu,\"non2xx\":%llu,\"socketErrors\":%llu,"
    "\"p50\":%.3f,\"p99\":%.3f,\"p999\":%.3f,\"max\":%.3f}\n",
    elapsed_ns / 1e6, (unsigned long long)sent, (unsigned long long)responses, (unsigned long long)non2xx,
    (unsigned long long)(socket_errors + unanswered), quantile_ms(0.5), quantile_ms(0.99), quantile_ms(0.999), max_us / 1000.0);
}

static struct conn *idle_conn(void) {
  for (int i = 0; i < nconns; i++) if (conns[i].state == IDLE) return &conns[i];
  return NULL;
}

/* Marks a connecting socket usable or reopens it; returns 1 when it became idle. */
static int on_event(struct conn *c, uint32_t events, int64_t now, int *completed) {
  *completed = 0;
  if (c->state == CONNECTING) {
    int err = 0;
    socklen_t l = sizeof err;
    getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &err, &l);
    if (err != 0 || (events & (EPOLLERR | EPOLLHUP))) { reopen(c); return 0; }
    struct epoll_event ev = { .events = EPOLLIN | EPOLLRDHUP, .data.ptr = c };
    epoll_ctl(epfd, EPOLL_CTL_MOD, c->fd, &ev);
    c->state = IDLE;
    return 1;
  }
  if (events & EPOLLIN) { *completed = on_readable(c, now); if (*completed) return 1; }
  if (c->state != DEAD && (events & (EPOLLERR | EPOLLHUP | EPOLLRDHUP)) && c->len == 0) reopen(c);
  return 0;
}

static int run_rate(const char *port, const char *path, double rate, double seconds, int connections) {
  setup(port, path, connections);
  int tfd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK);
  struct epoll_event tev = { .events = EPOLLIN, .data.ptr = NULL };
  epoll_ctl(epfd, EPOLL_CTL_ADD, tfd, &tev);
  const int64_t interval = (int64_t)(1e9 / rate);
  const int64_t total = (int64_t)(rate * seconds);
  /* The queue of due calls waiting for an idle connection: their due times. */
  int64_t *queue = malloc(sizeof(int64_t) * (size_t)(total + 1));
  int64_t qhead = 0, qtail = 0, scheduled = 0;
  const int64_t start = now_ns();
  const int64_t stop_sending = start + (int64_t)(seconds * 1e9);
  int64_t settle_until = 0;
  struct epoll_event events[256];
  for (;;) {
    int64_t now = now_ns();
    while (scheduled < total && start + scheduled * interval <= now) queue[qtail++] = start + (scheduled++) * interval;
    struct conn *c;
    while (qhead < qtail && (c = idle_conn()) != NULL) {
      if (send_call(c, queue[qhead]) == 0) qhead++;
      else reopen(c);
    }
    int in_flight = 0;
    for (int i = 0; i < nconns; i++) in_flight += conns[i].state == BUSY;
    if (scheduled >= total && qhead == qtail && in_flight == 0) break;
    if (scheduled >= total && settle_until == 0) settle_until = (now > stop_sending ? now : stop_sending) + SETTLE_NS;
    if (settle_until != 0 && now > settle_until) break;
    if (scheduled < total) {
      int64_t next = start + scheduled * interval;
      struct itimerspec its = { .it_value = { .tv_sec = next / 1000000000LL, .tv_nsec = next % 1000000000LL } };
      timerfd_settime(tfd, TFD_TIMER_ABSTIME, &its, NULL);
    }
    int n = epoll_wait(epfd, events, 256, scheduled < total ? -1 : 10);
    now = now_ns();
    for (int i = 0; i < n; i++) {
      if (events[i].data.ptr == NULL) { uint64_t x; ssize_t ignored = read(tfd, &x, sizeof x); (void)ignored; continue; }
      int completed;
      on_event(events[i].data.ptr, events[i].events, now, &completed);
    }
  }
  const int64_t elapsed = now_ns() - start;
  int64_t in_flight = 0;
  for (int i = 0; i < nconns; i++) in_flight += conns[i].state == BUSY;
  /* calls never written count as sent and unanswered: they were due */
  uint64_t never_sent = (uint64_t)(qtail - qhead);
  sent += never_sent;
  print_result(elapsed < stop_sending - start ? elapsed : stop_sending - start, (uint64_t)in_flight + never_sent);
  return 0;
}

static int run_closed(const char *port, const char *path, double seconds, int connections) {
  setup(port, path, connections);
  const int64_t start = now_ns();
  const int64_t stop_sending = start + (int64_t)(seconds * 1e9);
  struct epoll_event events[256];
  for (;;) {
    int64_t now = now_ns();
    if (now < stop_sending) {
      for (int i = 0; i < nconns; i++) {
        if (conns[i].state == IDLE && send_call(&conns[i], now) != 0) reopen(&conns[i]);
      }
    }
    int in_flight = 0;
    for (int i = 0; i < nconns; i++) in_flight += conns[i].state == BUSY;
    if (now >= stop_sending && (in_flight == 0 || now > stop_sending + SETTLE_NS)) break;
    int n = epoll_wait(epfd, events, 256, 10);
    now = now_ns();
    for (int i = 0; i < n; i++) {
      struct conn *c = events[i].data.ptr;
      int completed;
      if (on_event(c, events[i].events, now, &completed) && now < stop_sending && send_call(c, now) != 0) reopen(c);
    }
  }
  int64_t in_flight = 0;
  for (int i = 0; i < nconns; i++) in_flight += conns[i].state == BUSY;
  print_result(stop_sending - start, (uint64_t)in_flight);
  return 0;
}

static volatile sig_atomic_t stopping;
static void on_term(int sig) { (void)sig; stopping = 1; }

static int run_stall(int sleep_us, int threshold_us) {
  struct sigaction sa = { .sa_handler = on_term };
  sigaction(SIGTERM, &sa, NULL);
  sigaction(SIGINT, &sa, NULL);
  uint64_t samples = 0, stalls = 0;
  int64_t max_over = 0, total_over = 0;
  const struct timespec req = { .tv_sec = sleep_us / 1000000, .tv_nsec = (long)(sleep_us % 1000000) * 1000 };
  /* say we are running, so the harness starts its load only once we measure */
  printf("{\"ready\":true}\n");
  fflush(stdout);
  while (!stopping) {
    int64_t t0 = now_ns();
    if (nanosleep(&req, NULL) != 0) break;
    int64_t over = now_ns() - t0 - (int64_t)sleep_us * 1000;
    samples++;
    if (over > (int64_t)threshold_us * 1000) { stalls++; total_over += over; }
    if (over > max_over) max_over = over;
  }
  printf("{\"samples\":%llu,\"stalls\":%llu,\"maxOversleepMs\":%.3f,\"stalledMs\":%.3f}\n",
    (unsigned long long)samples, (unsigned long long)stalls, max_over / 1e6, total_over / 1e6);
  return 0;
}

int main(int argc, char **argv) {
  signal(SIGPIPE, SIG_IGN);
  if (argc == 7 && strcmp(argv[1], "rate") == 0) {
    return run_rate(argv[2], argv[3], atof(argv[4]), atof(argv[5]), parse_int(argv[6], "connections"));
  }
  if (argc == 6 && strcmp(argv[1], "closed") == 0) {
    return run_closed(argv[2], argv[3], atof(argv[4]), parse_int(argv[5], "connections"));
  }
  if (argc == 4 && strcmp(argv[1], "stall") == 0) {
    return run_stall(parse_int(argv[2], "sleep"), parse_int(argv[3], "threshold"));
  }
  fprintf(stderr, "usage: loadgen rate PORT PATH RATE SECONDS CONNECTIONS | closed PORT PATH SECONDS CONNECTIONS | stall SLEEP_US THRESHOLD_US\n");
  return 2;
}
