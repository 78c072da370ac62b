// A real Linux guest's virtio-vsock driver against berth-vsockd: boots a kernel under QEMU
// (TCG, so it runs anywhere) with a throwaway initramfs whose /init is
// guest/vsock_guest_init.c, and drives it through the host Unix sockets.
//
// Needs a kernel with vsock modules, e.g. Debian's linux-image-cloud-amd64:
//   BERTH_TEST_KERNEL=/boot/vmlinuz-<version>      (default: the kernel package the guest
//                                                   image was built from, else the newest
//                                                   /boot/vmlinuz-*)
//   BERTH_TEST_KERNEL_MODULES=/lib/modules/<version> (default: derived from the image name)
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <random>
#include <thread>

#include "vm_helpers.h"

namespace berth::vsock::vmtest {
namespace {

namespace fs = std::filesystem;

// Load order matters: each needs the ones before it.
const char* const kModules[] = {"virtio_ring", "virtio", "virtio_mmio", "vsock", "vmw_vsock_virtio_transport_common",
                                "vmw_vsock_virtio_transport"};

struct Kernel {
  std::string image;
  std::vector<std::string> modules;  // in load order; built-in ones left out
};

// The kernel package images/build downloaded for the guest image (Debian's cloud kernel),
// unpacked once per test process: hosts such as containers and CI machines often have
// nothing in /boot. Empty when the guest image was never built here.
struct UnpackedImageKernel {
  fs::path dir;
  std::string image, modules;
  UnpackedImageKernel() {
    std::error_code ec;
    fs::path debs = fs::path(BERTH_IMAGE_CACHE) / "debs" / "amd64";
    std::string deb;
    for (const auto& e : fs::directory_iterator(debs, ec))
      if (e.path().filename().string().starts_with("linux-image-")) deb = e.path();
    if (deb.empty()) return;
    dir = fs::temp_directory_path() / ("berth-vsock-kernel-" + std::to_string(::getpid()));
    std::string cmd = "dpkg-deb -x '" + deb + "' '" + dir.string() + "'";
    if (std::system(cmd.c_str()) != 0) return;
    for (const auto& e : fs::directory_iterator(dir / "boot", ec))
      if (e.path().filename().string().starts_with("vmlinuz-")) image = e.path();
    for (const char* base : {"lib/modules", "usr/lib/modules"})
      for (const auto& e : fs::directory_iterator(dir / base, ec)) modules = e.path();
  }
  ~UnpackedImageKernel() {
    std::error_code ec;
    if (!dir.empty()) fs::remove_all(dir, ec);
  }
};

const UnpackedImageKernel& image_kernel() {
  static UnpackedImageKernel kernel;
  return kernel;
}

std::optional<Kernel> find_kernel(std::string& why_not) {
  Kernel k;
  std::string modules_dir;
  if (const char* env = std::getenv("BERTH_TEST_KERNEL")) {
    k.image = env;
  } else if (const auto& cached = image_kernel(); !cached.image.empty() && !cached.modules.empty()) {
    k.image = cached.image;
    modules_dir = cached.modules;
  } else {
    std::vector<std::string> images;
    std::error_code ec;
    for (const auto& e : fs::directory_iterator("/boot", ec)) {
      if (e.path().filename().string().rfind("vmlinuz-", 0) == 0) images.push_back(e.path());
    }
    std::sort(images.begin(), images.end());
    if (images.empty()) {
      why_not = "no guest kernel: set BERTH_TEST_KERNEL (e.g. from Debian's linux-image-cloud-amd64)";
      return std::nullopt;
    }
    k.image = images.back();
  }
  if (!fs::exists(k.image)) {
    why_not = "BERTH_TEST_KERNEL " + k.image + " does not exist";
    return std::nullopt;
  }
  if (const char* env = std::getenv("BERTH_TEST_KERNEL_MODULES")) {
    modules_dir = env;
  } else if (modules_dir.empty()) {
    std::string name = fs::path(k.image).filename().string();
    modules_dir = "/lib/modules/" + name.substr(name.find('-') + 1);
  }
  std::map<std::string, std::string> found;
  std::error_code ec;
  for (auto it = fs::recursive_directory_iterator(modules_dir, ec); !ec && it != fs::recursive_directory_iterator();
       it.increment(ec)) {
    std::string file = it->path().filename().string();
    size_t ko = file.find(".ko");
    if (ko != std::string::npos) found.emplace(file.substr(0, ko), it->path().string());
  }
  std::string builtin = slurp(modules_dir + "/modules.builtin");
  for (const char* m : kModules) {
    if (auto f = found.find(m); f != found.end()) {
      k.modules.push_back(f->second);
    } else if (builtin.find(std::string("/") + m + ".ko") == std::string::npos) {
      why_not = std::string("kernel module ") + m + " not found under " + modules_dir +
                " (set BERTH_TEST_KERNEL_MODULES)";
      return std::nullopt;
    }
  }
  return k;
}

// newc-format cpio, which is what the kernel unpacks as an initramfs.
class Cpio {
 public:
  void add(const std::string& name, uint32_t mode, const std::string& data = {}) {
    char header[111];
    std::snprintf(header, sizeof header, "070701%08X%08X%08X%08X%08X%08X%08zX%08X%08X%08X%08X%08zX%08X", ino_++, mode,
                  0u, 0u, 1u, 0u, data.size(), 0u, 0u, 0u, 0u, name.size() + 1, 0u);
    out_.append(header, 110);
    out_.append(name);
    out_.push_back('\0');
    pad();
    out_.append(data);
    pad();
  }
  std::string finish() {
    add("TRAILER!!!", 0);
    return out_;
  }

 private:
  void pad() { out_.append((4 - out_.size() % 4) % 4, '\0'); }
  std::string out_;
  uint32_t ino_ = 1;
};

UniqueFd unix_connect(const std::string& path) {
  UniqueFd fd(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  std::strncpy(addr.sun_path, path.c_str(), sizeof addr.sun_path - 1);
  if (::connect(fd.get(), reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) return UniqueFd();
  timeval tv{30, 0};
  ::setsockopt(fd.get(), SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  return fd;
}

bool send_all(int fd, const std::string& data) {
  size_t off = 0;
  while (off < data.size()) {
    ssize_t n = ::send(fd, data.data() + off, data.size() - off, MSG_NOSIGNAL);
    if (n <= 0) return false;
    off += static_cast<size_t>(n);
  }
  return true;
}

std::string recv_until_eof(int fd) {
  std::string out;
  char buf[65536];
  ssize_t n;
  while ((n = ::recv(fd, buf, sizeof buf, 0)) > 0) out.append(buf, static_cast<size_t>(n));
  return out;
}

std::string recv_line(int fd) {
  std::string line;
  char ch;
  while (::recv(fd, &ch, 1, 0) == 1) {
    line += ch;
    if (ch == '\n') break;
  }
  return line;
}

std::string random_bytes(size_t n, uint32_t seed) {
  std::mt19937 rng(seed);
  std::string out(n, '\0');
  for (auto& ch : out) ch = static_cast<char>(rng() & 0xff);
  return out;
}

class LinuxGuest : public ::testing::Test {
 protected:
  void SetUp() override {
    qemu_ = find_in_path("qemu-system-x86_64");
    if (qemu_.empty()) GTEST_SKIP() << "qemu-system-x86_64 is not installed (Debian: qemu-system-x86)";
    std::string why_not;
    auto kernel = find_kernel(why_not);
    if (!kernel) GTEST_SKIP() << why_not;
    kernel_ = *kernel;

    Cpio cpio;
    for (const char* d : {"proc", "sys", "dev", "modules"}) cpio.add(d, 040755);
    cpio.add("init", 0100755, slurp(BERTH_VSOCK_GUEST_INIT));
    for (size_t i = 0; i < kernel_.modules.size(); ++i) {
      std::string file = fs::path(kernel_.modules[i]).filename().string();
      std::string suffix = file.substr(file.find(".ko") + 3);
      cpio.add("modules/" + std::to_string(i + 1) + ".ko" + suffix, 0100644, slurp(kernel_.modules[i]));
    }
    std::ofstream(dir_ / "initrd.cpio", std::ios::binary) << cpio.finish();

    vhost_ = dir_ / "vhost.sock";
    host_ = dir_ / "v.sock";
    vsockd_ = std::make_unique<Child>(std::vector<std::string>{BERTH_VSOCKD_PATH, "--vhost-user", vhost_,
                                                               "--host-socket", host_, "--cid", "3", "--log-file",
                                                               dir_ / "vsockd.log"},
                                      dir_ / "vsockd.out");
    ASSERT_TRUE(wait_for_path(vhost_, std::chrono::seconds(5))) << slurp(dir_ / "vsockd.out");
  }

  void boot() {
    auto args = qemu_base_args(qemu_, vhost_);
    args.insert(args.end(), {"-accel", "tcg", "-serial", "file:" + (dir_ / "serial.log"), "-kernel", kernel_.image,
                             "-initrd", dir_ / "initrd.cpio", "-append",
                             // Under TCG on a busy host PIT calibration can fail and leave no
                             // clocksource; a stated TSC frequency sidesteps it.
                             "console=ttyS0 panic=-1 quiet tsc_early_khz=1000000 tsc=reliable"});
    qemu_proc_ = std::make_unique<Child>(args, dir_ / "qemu.log");
    ASSERT_TRUE(wait_for_text(dir_ / "serial.log", "GUEST: cid 3, listening", std::chrono::seconds(120)))
        << "serial:\n" << slurp(dir_ / "serial.log") << "\nqemu:\n" << slurp(dir_ / "qemu.log");
  }

  // Opens a stream to a guest port; `ok` gets the handshake reply ("" when refused).
  UniqueFd open_guest(uint32_t port, std::string& ok) {
    UniqueFd fd = unix_connect(host_);
    if (!fd || !send_all(fd.get(), "CONNECT " + std::to_string(port) + "\n")) return UniqueFd();
    ok = recv_line(fd.get());
    return fd;
  }

  std::string qemu_;
  Kernel kernel_;
  TempDir dir_;
  std::string vhost_, host_;
  std::unique_ptr<Child> vsockd_;
  std::unique_ptr<Child> qemu_proc_;
};

TEST_F(LinuxGuest, StreamsFlowBothWays) {
  // Guest-initiated: the guest connects to host port 5000 right after boot.
  UniqueFd listener(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  std::strncpy(addr.sun_path, (host_ + "_5000").c_str(), sizeof addr.sun_path - 1);
  ASSERT_EQ(::bind(listener.get(), reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);
  ASSERT_EQ(::listen(listener.get(), 4), 0);
  std::string from_guest;
  std::thread host_service([&] {
    UniqueFd c(::accept4(listener.get(), nullptr, nullptr, SOCK_CLOEXEC));
    if (!c) return;
    from_guest = recv_until_eof(c.get());
    send_all(c.get(), "hi guest\n");
  });
  struct Joiner {
    std::thread& t;
    int listener;
    ~Joiner() {
      // Wakes a pending accept when the guest never came.
      ::shutdown(listener, SHUT_RDWR);
      if (t.joinable()) t.join();
    }
  } joiner{host_service, listener.get()};
  ASSERT_NO_FATAL_FAILURE(boot());
  EXPECT_TRUE(wait_for_text(dir_ / "serial.log", "GUEST: host replied: hi guest", std::chrono::seconds(30)))
      << slurp(dir_ / "serial.log");
  ::shutdown(listener.get(), SHUT_RDWR);
  host_service.join();
  EXPECT_EQ(from_guest, "hello from guest\n");

  // Host-initiated echo of 1 MiB: many packets, credit updates, half-close.
  std::string ok;
  UniqueFd echo = open_guest(1234, ok);
  ASSERT_EQ(ok.rfind("OK ", 0), 0u) << ok;
  std::string payload = random_bytes(1 << 20, 1);
  std::thread writer([&] {
    send_all(echo.get(), payload);
    ::shutdown(echo.get(), SHUT_WR);
  });
  std::string back = recv_until_eof(echo.get());
  writer.join();
  EXPECT_EQ(back.size(), payload.size());
  EXPECT_TRUE(back == payload);

  // A reader slower than the writer: the device must stop at the guest's credit and resume.
  UniqueFd slow = open_guest(1235, ok);
  ASSERT_EQ(ok.rfind("OK ", 0), 0u) << ok;
  std::string big = random_bytes(3 << 20, 2);
  std::thread big_writer([&] {
    send_all(slow.get(), big);
    ::shutdown(slow.get(), SHUT_WR);
  });
  EXPECT_EQ(recv_until_eof(slow.get()), std::to_string(big.size()) + "\n");
  big_writer.join();

  // Nobody listens on 4444 in the guest: refused, client closed without an OK.
  UniqueFd refused = open_guest(4444, ok);
  EXPECT_EQ(ok, "");

  // Many at once.
  std::vector<UniqueFd> conns;
  for (int i = 0; i < 50; ++i) {
    conns.push_back(open_guest(1234, ok));
    ASSERT_EQ(ok.rfind("OK ", 0), 0u) << "connection " << i << ": " << ok;
  }
  for (int i = 0; i < 50; ++i) {
    ASSERT_TRUE(send_all(conns[i].get(), "message " + std::to_string(i)));
    ::shutdown(conns[i].get(), SHUT_WR);
  }
  for (int i = 0; i < 50; ++i) EXPECT_EQ(recv_until_eof(conns[i].get()), "message " + std::to_string(i));

  std::string log = slurp(dir_ / "vsockd.log");
  EXPECT_EQ(log.find("warn"), std::string::npos) << log;
  EXPECT_EQ(log.find("error"), std::string::npos) << log;
}

}  // namespace
}  // namespace berth::vsock::vmtest
