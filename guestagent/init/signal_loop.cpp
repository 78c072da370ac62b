#include "init/signal_loop.h"

#include <poll.h>
#include <signal.h>
#include <sys/signalfd.h>
#include <unistd.h>

#include <cstring>
#include <thread>

#include "berth/common/unique_fd.h"
#include "init/acpi_events.h"
#include "init/console.h"
#include "init/reaper.h"

namespace berth::agent::init {

namespace {

constexpr int kShutdownSignals[] = {SIGTERM, SIGINT, SIGUSR2, SIGPWR};

extern "C" void ignore_signal(int) {}

sigset_t handled_set(bool with_chld) {
  sigset_t set;
  sigemptyset(&set);
  for (int s : kShutdownSignals) sigaddset(&set, s);
  sigaddset(&set, SIGHUP);
  if (with_chld) sigaddset(&set, SIGCHLD);
  return set;
}

}  // namespace

void ShutdownRequest::request(const std::string& reason) {
  {
    std::lock_guard lock(mu_);
    if (reason_) {
      logger()->info("already shutting down; ignoring: {}", reason);
      return;
    }
    reason_ = reason;
  }
  cv_.notify_all();
}

std::string ShutdownRequest::wait() {
  std::unique_lock lock(mu_);
  cv_.wait(lock, [&] { return reason_.has_value(); });
  return *reason_;
}

bool ShutdownRequest::requested() const {
  std::lock_guard lock(mu_);
  return reason_.has_value();
}

void block_pid1_signals() {
  sigset_t set = handled_set(true);
  ::sigprocmask(SIG_BLOCK, &set, nullptr);
  struct sigaction sa{};
  sa.sa_handler = ignore_signal;
  sigemptyset(&sa.sa_mask);
  for (int s = 1; s < NSIG; ++s)
    if (sigismember(&set, s) == 1) ::sigaction(s, &sa, nullptr);
  // Writes to a vanished vsock client must fail with EPIPE, not kill PID 1.
  ::signal(SIGPIPE, SIG_IGN);
}

Status start_signal_loop(bool reap, ShutdownRequest& shutdown) {
  sigset_t set = handled_set(reap);
  UniqueFd sfd(::signalfd(-1, &set, SFD_CLOEXEC | SFD_NONBLOCK));
  if (!sfd) return sys_error("signalfd");
  std::optional<AcpiEvents> acpi;
  if (auto ev = AcpiEvents::open()) {
    acpi = std::move(*ev);
  } else {
    logger()->info("no ACPI power button events: {}", ev.error().what());
  }
  if (reap) ChildReaper::instance().set_active(true);
  std::thread([sfd = std::move(sfd), acpi = std::move(acpi), reap, &shutdown]() mutable {
    for (;;) {
      pollfd p[2] = {{sfd.get(), POLLIN, 0}, {acpi ? acpi->fd() : -1, POLLIN, 0}};
      if (::poll(p, 2, -1) < 0) continue;
      if (p[1].revents && acpi->power_button_pressed()) shutdown.request("ACPI power button");
      if (!p[0].revents) continue;
      signalfd_siginfo info{};
      bool chld = false;
      while (::read(sfd.get(), &info, sizeof info) == static_cast<ssize_t>(sizeof info)) {
        int sig = static_cast<int>(info.ssi_signo);
        if (sig == SIGCHLD) {
          chld = true;
        } else if (sig == SIGHUP) {
          logger()->info("SIGHUP from pid {}: nothing to reload", info.ssi_pid);
        } else {
          shutdown.request(std::string(::strsignal(sig)) + " (signal " + std::to_string(sig) + " from pid " +
                           std::to_string(info.ssi_pid) + ")");
        }
      }
      // One reap for any number of SIGCHLDs: they coalesce anyway.
      if (chld && reap) ChildReaper::instance().reap_all();
    }
  }).detach();
  return ok();
}

}  // namespace berth::agent::init
