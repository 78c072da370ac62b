// A stand-in for berth-agent, so that the host side (`berth start/stop/status`, the
// vsock transport, the Docker socket bridge, virtiofs mounts) can be tested end to end
// before the real agent exists. Built statically and put into a guest image as /init by
// images/build. It speaks only what the host needs:
//
//   vsock 1024  GET /berth/v1/ready → 200; POST /berth/v1/time → 200 (sets the clock);
//               POST /berth/v1/shutdown → 200, then sync + power off
//   vsock 2375  GET /_ping → 200 "OK"
//               POST /standin/exec (body: a shell command) → 200, body: its output
//               POST /standin/echo → "101 UPGRADED", then echoes bytes until the host
//               half-closes, then sends "EOF-SEEN\n" and closes: a hijacked stream
//
// Console lines "STANDIN: ..." say what happened.
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/reboot.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <unistd.h>

#include "guest_init.h"
#include <linux/vm_sockets.h>

static void mkdir_p(const char* path) {
  char tmp[4096];
  snprintf(tmp, sizeof tmp, "%s", path);
  for (char* p = tmp + 1; *p; ++p) {
    if (*p == '/') {
      *p = '\0';
      mkdir(tmp, 0755);
      *p = '/';
    }
  }
  mkdir(tmp, 0755);
}

static void setup_system(void) {
  mount_kernel_filesystems();
  mkdir("/tmp", 01777);
  mount("tmpfs", "/tmp", "tmpfs", 0, NULL);
}

static void load_modules(void) {
  FILE* f = fopen("/etc/berth/modules.load", "re");
  char line[512];
  int ok = 0, fail = 0;
  while (f && fgets(line, sizeof line, f)) {
    line[strcspn(line, "\n")] = '\0';
    if (!line[0]) continue;
    int fd = open(line, O_RDONLY | O_CLOEXEC);
    if (fd >= 0 && syscall(SYS_finit_module, fd, "", 0) == 0) {
      ok++;
    } else if (errno != EEXIST) {
      fail++;
      say("STANDIN: module %s: %s", line, strerror(errno));
    }
    if (fd >= 0) close(fd);
  }
  if (f) fclose(f);
  say("STANDIN: modules ok=%d fail=%d", ok, fail);
}

// berth.mount=TAG:/abs/path[:ro]
static void mount_shares(void) {
  static char cmdline[8192];
  int fd = open("/proc/cmdline", O_RDONLY);
  if (fd < 0) return;
  ssize_t n = read(fd, cmdline, sizeof cmdline - 1);
  close(fd);
  if (n <= 0) return;
  cmdline[n] = '\0';
  for (char* tok = strtok(cmdline, " \n"); tok; tok = strtok(NULL, " \n")) {
    if (strncmp(tok, "berth.mount=", 12) != 0) continue;
    char* spec = tok + 12;
    char* colon = strchr(spec, ':');
    if (!colon) continue;
    *colon = '\0';
    char* path = colon + 1;
    unsigned long flags = 0;
    size_t len = strlen(path);
    if (len > 3 && strcmp(path + len - 3, ":ro") == 0) {
      path[len - 3] = '\0';
      flags |= MS_RDONLY;
    }
    mkdir_p(path);
    if (mount(spec, path, "virtiofs", flags, NULL) == 0) {
      say("STANDIN: mounted %s at %s%s", spec, path, flags ? " (ro)" : "");
    } else {
      say("STANDIN: mount %s at %s: %s", spec, path, strerror(errno));
    }
  }
}

static int vsock_listen(unsigned port) {
  int fd = socket(AF_VSOCK, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return -1;
  struct sockaddr_vm addr = {0};
  addr.svm_family = AF_VSOCK;
  addr.svm_cid = VMADDR_CID_ANY;
  addr.svm_port = port;
  if (bind(fd, (struct sockaddr*)&addr, sizeof addr) != 0 || listen(fd, 64) != 0) {
    close(fd);
    return -1;
  }
  return fd;
}

static int send_all(int fd, const char* data, size_t n) {
  while (n > 0) {
    ssize_t w = send(fd, data, n, MSG_NOSIGNAL);
    if (w < 0 && errno == EINTR) continue;
    if (w <= 0) return -1;
    data += w;
    n -= (size_t)w;
  }
  return 0;
}

static void respond(int fd, int status, const char* reason, const char* body, size_t len) {
  char head[256];
  int n = snprintf(head, sizeof head, "HTTP/1.1 %d %s\r\nContent-Length: %zu\r\nConnection: close\r\n\r\n", status,
                   reason, len);
  send_all(fd, head, (size_t)n);
  send_all(fd, body, len);
}

struct request {
  char method[16];
  char path[256];
  char* body;
  size_t body_len;
  // Bytes that came after the body in the same reads (a hijacked stream's first data).
  char* extra;
  size_t extra_len;
};

// Reads one request; the body is malloc'ed (bounded at 1 MiB).
static int read_request(int fd, struct request* r) {
  static char buf[1 << 20];
  size_t len = 0;
  char* end = NULL;
  while (!end) {
    if (len == sizeof buf - 1) return -1;
    ssize_t n = recv(fd, buf + len, sizeof buf - 1 - len, 0);
    if (n <= 0) return -1;
    len += (size_t)n;
    buf[len] = '\0';
    end = strstr(buf, "\r\n\r\n");
  }
  if (sscanf(buf, "%15s %255s", r->method, r->path) != 2) return -1;
  size_t content_length = 0;
  for (char* h = strstr(buf, "\r\n"); h && h < end; h = strstr(h + 2, "\r\n")) {
    if (strncasecmp(h + 2, "Content-Length:", 15) == 0) content_length = strtoul(h + 17, NULL, 10);
  }
  if (content_length > sizeof buf) return -1;
  size_t have = len - (size_t)(end + 4 - buf);
  r->body = malloc(content_length + 1);
  memcpy(r->body, end + 4, have < content_length ? have : content_length);
  size_t got = have < content_length ? have : content_length;
  r->extra = end + 4 + got;
  r->extra_len = have - got;
  while (got < content_length) {
    ssize_t n = recv(fd, r->body + got, content_length - got, 0);
    if (n <= 0) return -1;
    got += (size_t)n;
  }
  r->body[content_length] = '\0';
  r->body_len = content_length;
  return 0;
}

static void power_off(void) {
  say("STANDIN: powering off");
  sync();
  reboot(RB_POWER_OFF);
  _exit(0);
}

static void handle_control(int fd) {
  struct request r;
  if (read_request(fd, &r) != 0) return;
  if (strcmp(r.path, "/berth/v1/ready") == 0) {
    respond(fd, 200, "OK", "{\"ready\":true}", 14);
  } else if (strcmp(r.path, "/berth/v1/time") == 0) {
    const char* p = strstr(r.body, "\"unix_nanos\":");
    if (p) {
      long long ns = strtoll(p + 13, NULL, 10);
      struct timeval tv = {(time_t)(ns / 1000000000LL), (suseconds_t)((ns % 1000000000LL) / 1000)};
      settimeofday(&tv, NULL);
    }
    respond(fd, 200, "OK", "{}", 2);
  } else if (strcmp(r.path, "/berth/v1/shutdown") == 0) {
    respond(fd, 200, "OK", "{}", 2);
    shutdown(fd, SHUT_WR);
    // The power-off happens in PID 1 (see main): tell it.
    kill(1, SIGUSR1);
  } else {
    respond(fd, 404, "Not Found", "{\"message\":\"not found\"}", 23);
  }
}

static void handle_docker(int fd) {
  struct request r;
  if (read_request(fd, &r) != 0) return;
  if (strcmp(r.path, "/_ping") == 0) {
    respond(fd, 200, "OK", "OK", 2);
  } else if (strcmp(r.path, "/standin/exec") == 0) {
    int out[2];
    if (pipe(out) != 0) return;
    pid_t pid = fork();
    if (pid == 0) {
      dup2(out[1], 1);
      dup2(out[1], 2);
      close(out[0]);
      execl("/bin/sh", "sh", "-c", r.body, (char*)NULL);
      _exit(127);
    }
    close(out[1]);
    static char output[1 << 20];
    size_t len = 0;
    ssize_t n;
    while ((n = read(out[0], output + len, sizeof output - len)) > 0) len += (size_t)n;
    int status = 0;
    waitpid(pid, &status, 0);
    char tail[64];
    int t = snprintf(tail, sizeof tail, "\nEXIT %d\n", WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status));
    if (len + (size_t)t < sizeof output) {
      memcpy(output + len, tail, (size_t)t);
      len += (size_t)t;
    }
    respond(fd, 200, "OK", output, len);
  } else if (strcmp(r.path, "/standin/echo") == 0) {
    const char* head = "HTTP/1.1 101 UPGRADED\r\nConnection: Upgrade\r\nUpgrade: tcp\r\n\r\n";
    send_all(fd, head, strlen(head));
    if (r.body_len) send_all(fd, r.body, r.body_len);
    if (r.extra_len) send_all(fd, r.extra, r.extra_len);
    char buf[65536];
    ssize_t n;
    while ((n = recv(fd, buf, sizeof buf, 0)) > 0) {
      if (send_all(fd, buf, (size_t)n) != 0) return;
    }
    // The host closed its sending side; ours is still open.
    send_all(fd, "EOF-SEEN\n", 9);
    shutdown(fd, SHUT_WR);
  } else {
    respond(fd, 404, "Not Found", "{\"message\":\"the stand-in agent has no Docker API\"}", 50);
  }
}

static volatile sig_atomic_t g_poweroff = 0;
static void on_usr1(int sig) {
  (void)sig;
  g_poweroff = 1;
}

int main(void) {
  setup_system();
  say("STANDIN: started");
  load_modules();
  mount_shares();
  struct sigaction sa = {0};
  sa.sa_handler = on_usr1;
  sigaction(SIGUSR1, &sa, NULL);
  int control = vsock_listen(1024);
  int docker = vsock_listen(2375);
  if (control < 0 || docker < 0) {
    say("STANDIN: vsock listen failed: %s", strerror(errno));
    power_off();
  }
  say("STANDIN: listening on vsock 1024 and 2375");
  for (;;) {
    while (waitpid(-1, NULL, WNOHANG) > 0) {
    }
    if (g_poweroff) {
      // Let the connection handler's reply drain before the machine goes away.
      usleep(200000);
      power_off();
    }
    struct pollfd p[2] = {{control, POLLIN, 0}, {docker, POLLIN, 0}};
    if (poll(p, 2, 500) <= 0) continue;
    for (int i = 0; i < 2; ++i) {
      if (!(p[i].revents & POLLIN)) continue;
      int fd = accept4(p[i].fd, NULL, NULL, SOCK_CLOEXEC);
      if (fd < 0) continue;
      pid_t pid = fork();
      if (pid == 0) {
        if (i == 0) {
          handle_control(fd);
        } else {
          handle_docker(fd);
        }
        close(fd);
        _exit(0);
      }
      close(fd);
    }
  }
}
