#include "guest_vm.h"

#include <sys/socket.h>
#include <sys/un.h>
#include <sys/utsname.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>
#include <filesystem>
#include <thread>

#include "backends/qemu/qemu_args.h"
#include "berth/common/unique_fd.h"
#include "process.h"
#include "qemu.h"

namespace berth::test::agent {

namespace fs = std::filesystem;
using namespace std::chrono_literals;
using vsock::vmtest::Child;
using vsock::vmtest::slurp;
using Clock = std::chrono::steady_clock;

namespace {

constexpr int kExitOffline = 3;  // images/build: Debian packages could not be fetched
constexpr const char* kVirtiofsd = "/usr/lib/qemu/virtiofsd";

std::string quote(const std::string& s) {
  std::string q = "'";
  for (char c : s) q += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return q + "'";
}

GuestImage build_image() {
  GuestImage img;
  utsname u{};
  if (::uname(&u) != 0 || std::string(u.machine) != "x86_64") {
    img.skip = "the guest tests boot an amd64 image (x86-64 microvm)";
    return img;
  }
  if (find_program("qemu-system-x86_64").empty()) {
    img.skip = "qemu-system-x86_64 is not installed (Debian: qemu-system-x86)";
    return img;
  }
  fs::path out = fs::path(BERTH_VM_WORK_DIR) / "image";
  fs::create_directories(out);
  // One build at a time across test processes, and none when the image is newer than
  // everything that goes into it. zstd level 3 where zstd is the codec: the tests do not care
  // about the last MiB.
  std::string inputs = quote(BERTH_AGENT_PATH) + " " + quote(BERTH_SHIM_PATH) + " " + quote(BERTH_RUNTIME_PATH) + " " +
                       quote(BERTH_IMAGES_BUILD);
  std::string initrd = (out / "initramfs").string();
  std::string script = "exec 9>" + quote((out / ".lock").string()) + "; flock 9; if [ -f " + quote(initrd) +
                       " ] && [ -z \"$(find " + inputs + " -newer " + quote(initrd) + ")\" ]; then exit 0; fi; " +
                       "BERTH_ZSTD_LEVEL=3 " + quote(BERTH_IMAGES_BUILD) + " --arch amd64 --out " + quote(out.string()) +
                       " --cache " + quote(BERTH_IMAGE_CACHE) + " --agent " + quote(BERTH_AGENT_PATH) + " --shim " +
                       quote(BERTH_SHIM_PATH) + " --runtime " + quote(BERTH_RUNTIME_PATH) + " 2>&1";
  CommandResult r = run({"/bin/sh", "-c", script}, "", 900);
  if (r.status == kExitOffline) {
    img.skip = "Debian packages unavailable (offline?): " + r.out;
  } else if (r.status != 0) {
    img.error = "images/build failed (status " + std::to_string(r.status) + "):\n" + r.out;
  } else {
    img.kernel = (out / "vmlinuz").string();
    img.initrd = initrd;
  }
  return img;
}

UniqueFd connect_guest(const std::string& host_socket, uint32_t port, std::chrono::seconds timeout) {
  UniqueFd fd(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  std::strncpy(addr.sun_path, host_socket.c_str(), sizeof addr.sun_path - 1);
  if (::connect(fd.get(), reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) return {};
  timeval tv{static_cast<time_t>(timeout.count()), 0};
  ::setsockopt(fd.get(), SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  std::string hello = "CONNECT " + std::to_string(port) + "\n";
  if (::send(fd.get(), hello.data(), hello.size(), MSG_NOSIGNAL) != static_cast<ssize_t>(hello.size())) return {};
  std::string line;
  char ch;
  while (::recv(fd.get(), &ch, 1, 0) == 1 && ch != '\n') line += ch;
  if (line.rfind("OK ", 0) != 0) return {};  // nobody listens on that guest port (yet)
  return fd;
}

GuestImage prebuilt_arm64_image() {
  GuestImage img;
  if (find_program("qemu-system-aarch64").empty()) {
    img.skip = "qemu-system-aarch64 is not installed (Debian: qemu-system-arm)";
    return img;
  }
  fs::path dir = BERTH_ARM64_IMAGE_DIR;
  if (!fs::exists(dir / "Image") || !fs::exists(dir / "initramfs")) {
    img.skip = "no arm64 guest image in " + dir.string() +
               " (`ninja guest-image-arm64`; scripts/setup builds it unless Debian's mirror is out of reach)";
    return img;
  }
  img.kernel = (dir / "Image").string();
  img.initrd = (dir / "initramfs").string();
  return img;
}

// The QEMU command line for `config`, from the same function `berth start` uses (microvm
// with virtio-mmio devices for amd64, -M virt with virtio-pci for arm64).
std::vector<std::string> qemu_argv(const VmConfig& config, const GuestImage& img, const std::string& dir,
                                   const std::string& vhost) {
  VmSpec spec;
  spec.name = "vm-test";
  spec.arch = config.arch == "arm64" ? Arch::arm64 : Arch::amd64;
  spec.accel = Accel::tcg;  // KVM is not usable on every test host
  spec.cpus = 1;
  spec.memory = static_cast<uint64_t>(config.memory_mb) << 20;
  spec.kernel = img.kernel;
  spec.initrd = img.initrd;
  spec.cmdline = config.cmdline;
  spec.disk = config.disk;
  for (size_t i = 0; i < config.shares.size(); ++i) {
    spec.mounts.push_back({config.shares[i].first, config.shares[i].second, false,
                           dir + "/fs" + std::to_string(i) + ".sock"});
  }
  spec.vsock = VsockMode::userspace;
  spec.vsock_socket = vhost;
  spec.console_log = dir + "/serial.log";
  spec.control_socket = dir + "/qmp.sock";
  qemu::QemuHost host{find_program(qemu::binary_name(spec.arch)), host_tsc_khz()};
  return qemu::qemu_argv(spec, host);
}

}  // namespace

const GuestImage& guest_image() {
  static const GuestImage img = build_image();
  return img;
}

const GuestImage& arm64_guest_image() {
  static const GuestImage img = prebuilt_arm64_image();
  return img;
}

GuestVm::GuestVm(std::string dir) : dir_(std::move(dir)) { fs::create_directories(dir_); }

GuestVm::~GuestVm() {
  qemu_.reset();
  virtiofsd_.clear();
  vsockd_.reset();
}

bool GuestVm::start(const VmConfig& config, std::string& why) {
  const auto& img = config.arch == "arm64" ? arm64_guest_image() : guest_image();
  std::string vhost = dir_ + "/vhost.sock";
  for (const char* f : {"vhost.sock", "v.sock", "qmp.sock", "serial.log"}) fs::remove(dir_ + "/" + f);
  vsockd_ = std::make_unique<Child>(std::vector<std::string>{BERTH_VSOCKD_PATH, "--vhost-user", vhost, "--host-socket",
                                                             dir_ + "/v.sock", "--cid", "3", "--log-file",
                                                             dir_ + "/vsockd.log"},
                                    dir_ + "/vsockd.out");
  if (!vsock::vmtest::wait_for_path(vhost, 10s)) {
    why = "berth-vsockd did not start: " + slurp(dir_ + "/vsockd.out");
    return false;
  }
  for (size_t i = 0; i < config.shares.size(); ++i) {
    std::string sock = dir_ + "/fs" + std::to_string(i) + ".sock";
    fs::remove(sock);
    virtiofsd_.push_back(std::make_unique<Child>(
        std::vector<std::string>{kVirtiofsd, "--socket-path=" + sock, "-o", "source=" + config.shares[i].second, "-o",
                                 "cache=auto", "-o", "log_level=warn"},
        dir_ + "/virtiofsd" + std::to_string(i) + ".log"));
    if (!vsock::vmtest::wait_for_path(sock, 10s)) {
      why = "virtiofsd did not start: " + slurp(dir_ + "/virtiofsd" + std::to_string(i) + ".log");
      return false;
    }
  }
  std::vector<std::string> argv = qemu_argv(config, img, dir_, vhost);
  qemu_ = std::make_unique<Child>(argv, dir_ + "/qemu.log");
  if (!qemu_->started()) {
    why = "cannot start QEMU";
    return false;
  }
  return true;
}

std::optional<HttpReply> GuestVm::request(uint32_t port, const std::string& method, const std::string& path,
                                          const std::string& body, std::chrono::seconds timeout) {
  UniqueFd fd = connect_guest(dir_ + "/v.sock", port, timeout);
  if (!fd) return std::nullopt;
  std::string req = method + " " + path + " HTTP/1.1\r\nHost: berth\r\nConnection: close\r\nContent-Length: " +
                    std::to_string(body.size()) + "\r\n" + (body.empty() ? "" : "Content-Type: application/json\r\n") +
                    "\r\n" + body;
  if (::send(fd.get(), req.data(), req.size(), MSG_NOSIGNAL) != static_cast<ssize_t>(req.size())) return std::nullopt;
  std::string raw;
  char buf[65536];
  ssize_t n;
  while ((n = ::recv(fd.get(), buf, sizeof buf, 0)) > 0) raw.append(buf, static_cast<size_t>(n));
  size_t head_end = raw.find("\r\n\r\n");
  if (raw.rfind("HTTP/1.1 ", 0) != 0 || head_end == std::string::npos) return std::nullopt;
  HttpReply r;
  r.status = std::stoi(raw.substr(9, 3));
  r.body = raw.substr(head_end + 4);
  return r;
}

std::optional<nlohmann::json> GuestVm::wait_ready(std::chrono::seconds timeout) {
  auto deadline = Clock::now() + timeout;
  while (Clock::now() < deadline) {
    if (qemu_ && !qemu_->running()) return std::nullopt;
    if (auto r = request(1024, "GET", "/berth/v1/ready", "", 10s); r && r->status == 200) return r->json();
    std::this_thread::sleep_for(100ms);
  }
  return std::nullopt;
}

nlohmann::json GuestVm::sh(const std::string& script) {
  auto r = request(1024, "POST", "/berth/v1/debug/exec",
                   nlohmann::json{{"argv", {"/bin/sh", "-c", script}}, {"timeout_ms", 60000}}.dump());
  if (!r) return {{"exit_code", -1}, {"stderr", "no answer"}};
  if (r->status != 200) return {{"exit_code", -1}, {"stderr", "HTTP " + std::to_string(r->status) + ": " + r->body}};
  return r->json();
}

std::string GuestVm::console() const { return slurp(dir_ + "/serial.log"); }

bool GuestVm::console_has(const std::string& text, std::chrono::milliseconds wait) const {
  return vsock::vmtest::wait_for_text(dir_ + "/serial.log", text, wait) || console().find(text) != std::string::npos;
}

std::optional<int> GuestVm::wait_exit(std::chrono::milliseconds timeout) {
  return qemu_ ? qemu_->exit_status(timeout) : std::nullopt;
}

void GuestVm::kill_hard() {
  // Child's destructor SIGKILLs and reaps.
  qemu_.reset();
}

bool GuestVm::powerdown() {
  vsock::vmtest::Qmp qmp;
  if (!qmp.connect(dir_ + "/qmp.sock", 10s)) return false;
  if (!qmp.execute("qmp_capabilities")) return false;
  auto r = qmp.execute("system_powerdown");
  return r && r->contains("return");
}

}  // namespace berth::test::agent
