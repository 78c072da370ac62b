// A stand-in /init for VM tests of the guest image, linked statically so it needs nothing
// from the image. It checks what the real agent will rely on and reports each result as
// one console line the test can match, then powers the VM off:
//
//   BERTH-TEST-READY                      userspace started, console works
//   BERTH-VERSION <json>                  /etc/berth/VERSION
//   BERTH-MODULE OK|FAIL <path> [error]   finit_module() of each /etc/berth/modules.load line
//   BERTH-MODULES-DONE ok=N fail=M
//   BERTH-EXEC <status> <command>         dynamically linked programs of the image run
//   BERTH-DISK OK|FAIL|NONE [error]       mkfs.ext4 + mount of /dev/vda, if a disk is attached
//   BERTH-TEST-DONE
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/reboot.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "guest_init.h"

static void report_version(void) {
  char buf[512] = {0};
  int fd = open("/etc/berth/VERSION", O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    say("BERTH-VERSION missing");
    return;
  }
  ssize_t n = read(fd, buf, sizeof buf - 1);
  close(fd);
  if (n > 0 && buf[n - 1] == '\n') buf[n - 1] = '\0';
  say("BERTH-VERSION %s", buf);
}

static void load_modules(void) {
  FILE* f = fopen("/etc/berth/modules.load", "re");
  int ok = 0, fail = 0;
  char line[512];
  while (f && fgets(line, sizeof line, f)) {
    line[strcspn(line, "\n")] = '\0';
    if (line[0] == '\0') continue;
    int fd = open(line, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
      say("BERTH-MODULE FAIL %s open: %s", line, strerror(errno));
      ++fail;
      continue;
    }
    // EEXIST: the kernel already loaded it on its own (request_module), which is fine.
    // ENOENT here means "Unknown symbol": a dependency is not loaded yet.
    if (syscall(SYS_finit_module, fd, "", 0) == 0 || errno == EEXIST) {
      say("BERTH-MODULE OK %s", line);
      ++ok;
    } else {
      say("BERTH-MODULE FAIL %s finit_module: %s", line, strerror(errno));
      ++fail;
    }
    close(fd);
  }
  if (f) fclose(f);
  say("BERTH-MODULES-DONE ok=%d fail=%d", ok, fail);
}

// Runs argv with output on the console; returns the exit status (or -1).
static int run(char* const argv[]) {
  pid_t pid = fork();
  if (pid == 0) {
    char* env[] = {"PATH=/usr/sbin:/usr/bin", NULL};
    execve(argv[0], argv, env);
    _exit(127);
  }
  int status = 0;
  if (pid < 0 || waitpid(pid, &status, 0) < 0) return -1;
  return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

static void exec_check(char* const argv[]) {
  char cmd[256] = {0};
  for (int i = 0; argv[i]; ++i) {
    if (i) strncat(cmd, " ", sizeof cmd - strlen(cmd) - 1);
    strncat(cmd, argv[i], sizeof cmd - strlen(cmd) - 1);
  }
  int status = run(argv);
  say("BERTH-EXEC %d %s", status, cmd);
}

static void disk_check(void) {
  struct stat st;
  if (stat("/dev/vda", &st) != 0) {
    say("BERTH-DISK NONE");
    return;
  }
  char* mkfs[] = {"/usr/sbin/mkfs.ext4", "-q", "-F", "/dev/vda", NULL};
  int status = run(mkfs);
  if (status != 0) {
    say("BERTH-DISK FAIL mkfs.ext4 exited %d", status);
    return;
  }
  mkdir("/mnt/disk", 0755);
  if (mount("/dev/vda", "/mnt/disk", "ext4", 0, NULL) != 0) {
    say("BERTH-DISK FAIL mount: %s", strerror(errno));
    return;
  }
  int fd = open("/mnt/disk/probe", O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
  int wrote = fd >= 0 && write(fd, "x", 1) == 1;
  if (fd >= 0) close(fd);
  umount("/mnt/disk");
  say(wrote ? "BERTH-DISK OK" : "BERTH-DISK FAIL write");
}

int main(void) {
  // Tests without the real binaries pass this program as the shim and runtime too.
  if (getpid() != 1) {
    puts("berth-vm-test-init (stand-in)");
    return 0;
  }
  mount_kernel_filesystems();
  say("BERTH-TEST-READY");
  report_version();
  load_modules();

  char* mke2fs[] = {"/usr/sbin/mke2fs", "-V", NULL};
  char* e2fsck[] = {"/usr/sbin/e2fsck", "-V", NULL};
  char* busybox[] = {"/bin/busybox", "true", NULL};
  char* runtime[] = {"/usr/bin/berth-runtime", "--version", NULL};
  char* shim[] = {"/usr/bin/berth-shim", "--help", NULL};
  exec_check(mke2fs);
  exec_check(e2fsck);
  exec_check(busybox);
  exec_check(runtime);
  exec_check(shim);
  struct stat st;
  say("BERTH-CA %s", stat("/etc/ssl/certs/ca-certificates.crt", &st) == 0 && st.st_size > 0 ? "OK" : "MISSING");
  disk_check();

  say("BERTH-TEST-DONE");
  sync();
  reboot(RB_POWER_OFF);
  return 0;
}
