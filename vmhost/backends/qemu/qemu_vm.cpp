#include "backends/qemu/qemu_vm.h"

#include <signal.h>
#include <unistd.h>

#include <thread>

#include "backends/platform.h"
#include "backends/qemu/kernel_vsock_connector.h"
#include "backends/qemu/qmp.h"
#include "connectors/userspace_connector.h"
#include "instance/pid_file.h"
#include "net/socket_io.h"
#include "vsock/vsock_device.h"

namespace berth::qemu {

namespace {

std::string join_args(const std::vector<std::string>& argv) {
  std::string out;
  for (const auto& a : argv) {
    if (!out.empty()) out += ' ';
    bool plain = !a.empty() && a.find_first_of(" \"'\\$") == std::string::npos;
    out += plain ? a : "'" + a + "'";
  }
  return out;
}

}  // namespace

QemuVm::QemuVm(VmSpec spec, QemuHost host, std::string virtiofsd, const instance::Paths& paths,
               std::shared_ptr<spdlog::logger> log)
    : spec_(std::move(spec)),
      host_(std::move(host)),
      virtiofsd_(std::move(virtiofsd)),
      paths_(paths),
      log_(std::move(log)) {
  if (spec_.vsock == VsockMode::kernel) {
    connector_ = std::make_shared<KernelVsockConnector>(spec_.guest_cid);
  } else {
    connector_ = std::make_shared<UserspaceVsockConnector>(paths_.vsock_socket());
  }
}

QemuVm::~QemuVm() {
  if (qemu_.started() && !qemu_.poll()) kill();
  cleanup();
}

std::string QemuVm::describe() const { return std::string("qemu (") + accel_name(spec_.accel) + ")"; }

Status QemuVm::start() {
  if (spec_.vsock == VsockMode::userspace) BERTH_TRY(start_vsock_device());
  for (size_t i = 0; i < spec_.mounts.size(); ++i) BERTH_TRY(start_virtiofsd(i));
  BERTH_TRY(start_qemu());
  return wait_for_qmp();
}

Status QemuVm::start_vsock_device() {
  vsock::Config config;
  config.vhost_user_socket = spec_.vsock_socket;
  config.host_socket = paths_.vsock_socket();
  config.guest_cid = spec_.guest_cid;
  config.instance = spec_.name;
  auto device = vsock::UserspaceVsock::create(config);
  if (!device) return tl::unexpected(device.error().context("userspace vsock device"));
  vsock_ = std::move(*device);
  vsock_thread_ = std::thread([this] {
    if (auto st = vsock_->run(); !st) log_->error("[{}] vsock device stopped: {}", spec_.name, st.error().what());
  });
  return ok();
}

Status QemuVm::start_virtiofsd(size_t index) {
  const auto& mount = spec_.mounts[index];
  // berth listens and hands the socket over (--fd), so it is accepting before QEMU starts
  // and there is no window in which QEMU could find the file but not a listener.
  UniqueFd listener = BERTH_TRY(net::listen_unix(mount.socket, 0600, 1));
  auto argv = virtiofsd_argv(virtiofsd_, mount);
  // --fd replaces --socket-path (they are exclusive).
  argv[1] = "--fd=3";
  Helper h;
  h.what = "virtiofsd " + mount.tag;
  UniqueFd out;
  h.output = BERTH_TRY(process::OutputLog::create("[" + spec_.name + "] " + h.what, log_, out));
  platform::SpawnOptions options;
  options.argv = argv;
  options.stdout_fd = out.get();
  options.extra_fds = {{listener.get(), 3}};
  options.die_with_parent = true;
  log_->info("[{}] starting {} for {}: {}", spec_.name, h.what, mount.host_path, join_args(argv));
  pid_t pid = BERTH_TRY(platform::spawn(options));
  h.child = process::Child(pid);
  h.pid_file = paths_.virtiofs_pid(index);
  (void)instance::write_pid_file(h.pid_file, pid);
  virtiofsd_procs_.push_back(std::move(h));
  return ok();
}

Status QemuVm::start_qemu() {
  auto argv = qemu_argv(spec_, host_);
  UniqueFd out;
  qemu_output_ = BERTH_TRY(process::OutputLog::create("[" + spec_.name + "] qemu", log_, out));
  platform::SpawnOptions options;
  options.argv = argv;
  options.stdout_fd = out.get();
  options.die_with_parent = true;
  log_->info("[{}] starting QEMU: {}", spec_.name, join_args(argv));
  pid_t pid = BERTH_TRY(platform::spawn(options));
  qemu_ = process::Child(pid);
  (void)instance::write_pid_file(paths_.qemu_pid(), pid);
  return ok();
}

Status QemuVm::wait_for_qmp() {
  // QMP answers once machine setup is done (devices realized, vhost-user back-ends
  // connected); startup errors end QEMU before that.
  auto deadline = net::Clock::now() + std::chrono::seconds(60);
  while (net::Clock::now() < deadline) {
    if (auto e = qemu_.poll()) {
      std::string why = last_error();
      // A virtiofsd that failed first is usually the cause (QEMU only sees the socket close).
      for (auto& h : virtiofsd_procs_) {
        if (auto he = h.child.poll(); he && !he->clean()) {
          // Its output is drained by a thread; a moment lets the last line arrive.
          std::this_thread::sleep_for(std::chrono::milliseconds(100));
          why = h.what + " failed (" + he->describe() + "): " + h.output->last_line() + (why.empty() ? "" : "; " + why);
        }
      }
      return make_error(Errc::io, "QEMU exited during startup (" + e->describe() + ")" + (why.empty() ? "" : ": " + why));
    }
    if (::access(spec_.control_socket.c_str(), F_OK) == 0) {
      auto qmp = QmpClient::connect(spec_.control_socket, std::chrono::seconds(5));
      if (qmp) {
        auto status = qmp->execute("query-status");
        if (status) {
          log_->info("[{}] QEMU is up (pid {}, {})", spec_.name, qemu_.pid(), status->value("status", "?"));
          return ok();
        }
      }
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  return make_error(Errc::timeout, "QEMU did not answer on its QMP socket within 60s");
}

void QemuVm::check_helpers() {
  auto now = std::chrono::steady_clock::now();
  for (auto& h : virtiofsd_procs_) {
    auto e = h.child.poll();
    if (!e || h.reported) continue;
    if (!h.exited_at) h.exited_at = now;
    // virtiofsd also exits when QEMU goes away; only one that dies while QEMU carries on
    // (checked a moment later) is news.
    if (now - *h.exited_at < std::chrono::seconds(1)) continue;
    h.reported = true;
    if (qemu_.poll()) continue;
    log_->warn("[{}] {} exited ({}) while the VM runs; its folder is no longer shared{}", spec_.name, h.what,
               e->describe(), h.output && !h.output->last_line().empty() ? ": " + h.output->last_line() : "");
  }
}

std::optional<process::ExitInfo> QemuVm::exited() {
  check_helpers();
  return qemu_.poll();
}

std::optional<std::string> QemuVm::problem() {
  auto now = std::chrono::steady_clock::now();
  if (now < next_health_check_ || !qemu_.started() || qemu_.poll()) return std::nullopt;
  next_health_check_ = now + std::chrono::seconds(2);
  auto qmp = QmpClient::connect(spec_.control_socket, std::chrono::seconds(2));
  if (!qmp) return std::nullopt;
  auto status = qmp->execute("query-status", Json::object(), std::chrono::seconds(2));
  if (!status) return std::nullopt;
  // QEMU does not exit in these states: it pauses the VM and waits for a human.
  std::string s = status->value("status", "");
  if (s == "internal-error") {
    return std::string("QEMU stopped the VM after an internal error") +
           (spec_.accel == Accel::kvm ? " (KVM could not run the guest; BERTH_QEMU_ACCEL=tcg forces TCG)" : "");
  }
  if (s == "guest-panicked") return std::string("the guest kernel panicked");
  if (s == "io-error") return std::string("QEMU stopped the VM after a disk I/O error (disk full?)");
  return std::nullopt;
}

std::string QemuVm::last_error() {
  if (!qemu_output_) return {};
  // The pipe is drained by a thread; once QEMU is gone, let it catch up with the last line.
  if (qemu_.poll()) qemu_output_->finish();
  return qemu_output_->last_line();
}

void QemuVm::quit() {
  if (!qemu_.started() || qemu_.poll()) return;
  auto qmp = QmpClient::connect(spec_.control_socket, std::chrono::seconds(2));
  if (qmp) {
    auto r = qmp->execute("quit", Json::object(), std::chrono::seconds(2));
    if (r || r.error().code == Errc::protocol) {  // QEMU may close before replying
      if (qemu_.wait_for(std::chrono::seconds(5))) return;
    }
    log_->warn("[{}] QMP quit did not stop QEMU: {}", spec_.name, r ? "still running" : r.error().what());
  } else {
    log_->warn("[{}] cannot reach QMP: {}", spec_.name, qmp.error().what());
  }
  kill();
}

void QemuVm::kill() {
  if (!qemu_.started() || qemu_.poll()) return;
  log_->warn("[{}] killing QEMU (pid {})", spec_.name, qemu_.pid());
  qemu_.signal(SIGKILL);
  qemu_.wait_for(std::chrono::seconds(10));
}

void QemuVm::cleanup() {
  if (cleaned_) return;
  cleaned_ = true;
  for (auto& h : virtiofsd_procs_) {
    // virtiofsd exits by itself when QEMU disconnects; this is for one that did not.
    auto e = h.child.terminate(std::chrono::seconds(2));
    log_->debug("[{}] {} ended ({})", spec_.name, h.what, e.describe());
    if (h.output) h.output->finish();
    ::unlink(h.pid_file.c_str());
  }
  if (vsock_) {
    vsock_->stop();
    if (vsock_thread_.joinable()) vsock_thread_.join();
    vsock_.reset();
  }
  if (qemu_output_ && qemu_.poll()) qemu_output_->finish();
  for (const auto& m : spec_.mounts) ::unlink(m.socket.c_str());
  for (const auto& f : {spec_.vsock_socket, paths_.vsock_socket(), spec_.control_socket, paths_.qemu_pid()}) {
    if (!f.empty()) ::unlink(f.c_str());
  }
}

}  // namespace berth::qemu
