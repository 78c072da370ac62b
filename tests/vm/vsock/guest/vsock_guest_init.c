// PID 1 of the throwaway initramfs booted by linux_guest_test.cpp. It loads the vsock
// modules, then exercises the device from the guest kernel's side:
//   port 1234  echo server, one thread per connection, honours half-close;
//   port 1235  slow reader: small reads with pauses (so credit runs out), then replies
//              with the byte count;
//   and it connects once to host port 5000, sends a line, half-closes, prints the reply.
// Progress goes to the serial console, which the test watches.
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <linux/vm_sockets.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <unistd.h>

#ifndef MODULE_INIT_COMPRESSED_FILE
#define MODULE_INIT_COMPRESSED_FILE 4
#endif

static void load_modules(void) {
  // The test names them 1.ko … 9.ko in load order, keeping any compression suffix.
  static const char* const suffixes[] = {"", ".xz", ".zst", ".gz"};
  for (int i = 1; i <= 9; ++i) {
    for (size_t s = 0; s < sizeof suffixes / sizeof *suffixes; ++s) {
      char path[64];
      snprintf(path, sizeof path, "/modules/%d.ko%s", i, suffixes[s]);
      int fd = open(path, O_RDONLY | O_CLOEXEC);
      if (fd < 0) continue;
      int flags = s ? MODULE_INIT_COMPRESSED_FILE : 0;
      if (syscall(SYS_finit_module, fd, "", flags) != 0 && errno != EEXIST) {
        printf("GUEST: loading %s: %s\n", path, strerror(errno));
      }
      close(fd);
    }
  }
}

static int listen_on(unsigned port) {
  int s = socket(AF_VSOCK, SOCK_STREAM | SOCK_CLOEXEC, 0);
  struct sockaddr_vm addr = {.svm_family = AF_VSOCK, .svm_port = port, .svm_cid = VMADDR_CID_ANY};
  if (s < 0 || bind(s, (struct sockaddr*)&addr, sizeof addr) != 0 || listen(s, 64) != 0) {
    if (s >= 0) close(s);
    return -1;
  }
  return s;
}

static int write_all(int fd, const char* buf, size_t len) {
  while (len > 0) {
    ssize_t n = write(fd, buf, len);
    if (n <= 0) return -1;
    buf += n;
    len -= (size_t)n;
  }
  return 0;
}

static void* echo_connection(void* arg) {
  int c = (int)(long)arg;
  static __thread char buf[65536];
  long total = 0;
  ssize_t n;
  while ((n = read(c, buf, sizeof buf)) > 0) {
    total += n;
    if (write_all(c, buf, (size_t)n) != 0) break;
  }
  // Our side is done too; the host closes when it has read everything.
  shutdown(c, SHUT_WR);
  while (read(c, buf, sizeof buf) > 0) {
  }
  close(c);
  printf("GUEST: echo done, %ld bytes\n", total);
  return NULL;
}

static void* echo_server(void* arg) {
  int s = (int)(long)arg;
  for (;;) {
    int c = accept4(s, NULL, NULL, SOCK_CLOEXEC);
    if (c < 0) continue;
    pthread_t t;
    if (pthread_create(&t, NULL, echo_connection, (void*)(long)c) == 0) {
      pthread_detach(t);
    } else {
      close(c);
    }
  }
  return NULL;
}

static void* slow_server(void* arg) {
  int s = (int)(long)arg;
  for (;;) {
    int c = accept4(s, NULL, NULL, SOCK_CLOEXEC);
    if (c < 0) continue;
    char buf[1000];
    long total = 0;
    ssize_t n;
    while ((n = read(c, buf, sizeof buf)) > 0) {
      long before = total;
      total += n;
      if (total / 100000 != before / 100000) usleep(20000);
    }
    char line[32];
    int len = snprintf(line, sizeof line, "%ld\n", total);
    write_all(c, line, (size_t)len);
    close(c);
    printf("GUEST: slow reader got %ld bytes\n", total);
  }
  return NULL;
}

static void talk_to_host(void) {
  for (int attempt = 0; attempt < 30; ++attempt) {
    int c = socket(AF_VSOCK, SOCK_STREAM | SOCK_CLOEXEC, 0);
    struct sockaddr_vm addr = {.svm_family = AF_VSOCK, .svm_port = 5000, .svm_cid = VMADDR_CID_HOST};
    if (connect(c, (struct sockaddr*)&addr, sizeof addr) == 0) {
      const char* msg = "hello from guest\n";
      write_all(c, msg, strlen(msg));
      shutdown(c, SHUT_WR);
      char buf[256];
      size_t got = 0;
      ssize_t n;
      while (got < sizeof buf - 1 && (n = read(c, buf + got, sizeof buf - 1 - got)) > 0) got += (size_t)n;
      buf[got] = 0;
      printf("GUEST: host replied: %s", buf);
      close(c);
      return;
    }
    printf("GUEST: connecting to host port 5000: %s\n", strerror(errno));
    close(c);
    sleep(1);
  }
}

int main(void) {
  mount("proc", "/proc", "proc", 0, NULL);
  mount("sysfs", "/sys", "sysfs", 0, NULL);
  mount("devtmpfs", "/dev", "devtmpfs", 0, NULL);
  setvbuf(stdout, NULL, _IONBF, 0);
  load_modules();

  // The transport registers once the virtio device has been probed.
  int echo = -1;
  for (int i = 0; i < 100 && echo < 0; ++i) {
    echo = listen_on(1234);
    if (echo < 0) usleep(100000);
  }
  int slow = listen_on(1235);
  if (echo < 0 || slow < 0) {
    printf("GUEST: no vsock: %s\n", strerror(errno));
  } else {
    unsigned cid = 0;
    int dev = open("/dev/vsock", O_RDONLY | O_CLOEXEC);
    if (dev >= 0) ioctl(dev, IOCTL_VM_SOCKETS_GET_LOCAL_CID, &cid);
    printf("GUEST: cid %u, listening\n", cid);
    pthread_t t1, t2;
    pthread_create(&t1, NULL, echo_server, (void*)(long)echo);
    pthread_create(&t2, NULL, slow_server, (void*)(long)slow);
    talk_to_host();
  }
  for (;;) pause();
}
