// Every file of an instance, in one place: `~/.berth/NAME/` (or `$BERTH_HOME/NAME/`).
// Nothing else in vmhost spells a file name inside an instance directory.
#pragma once

#include <string>
#include <vector>

#include "berth/common/result.h"

namespace berth::instance {

inline constexpr const char* kConfigFile = "config.json";
inline constexpr const char* kDiskFile = "disk.img";
inline constexpr const char* kSerialLog = "serial.log";
inline constexpr const char* kVmhostLog = "vmhost.log";
inline constexpr const char* kStatusFile = "status.json";
inline constexpr const char* kLockFile = "lock";
inline constexpr const char* kVmhostPidFile = "vmhost.pid";
inline constexpr const char* kQemuPidFile = "qemu.pid";
inline constexpr const char* kDockerSocket = "docker.sock";
inline constexpr const char* kQmpSocket = "qmp.sock";
// Host end of the userspace vsock device: clients send "CONNECT <port>\n"; guest
// connections to host port P arrive at "vsock.sock_P".
inline constexpr const char* kVsockSocket = "vsock.sock";
// The vhost-user socket QEMU's vhost-user-vsock-device connects to.
inline constexpr const char* kVhostVsockSocket = "vhost-vsock.sock";
// virtiofsd's vhost-user socket and pid file for mount N: "virtiofs-N.sock", "virtiofs-N.pid".
inline constexpr const char* kVirtiofsPrefix = "virtiofs-";

// The directory holding all instances: $BERTH_HOME, else $HOME/.berth.
Result<std::string> berth_home();

class Paths {
 public:
  explicit Paths(std::string dir) : dir_(std::move(dir)) {}

  const std::string& dir() const { return dir_; }
  std::string config() const { return file(kConfigFile); }
  std::string disk() const { return file(kDiskFile); }
  std::string serial_log() const { return file(kSerialLog); }
  std::string vmhost_log() const { return file(kVmhostLog); }
  std::string status() const { return file(kStatusFile); }
  std::string lock() const { return file(kLockFile); }
  std::string vmhost_pid() const { return file(kVmhostPidFile); }
  std::string qemu_pid() const { return file(kQemuPidFile); }
  std::string docker_socket() const { return file(kDockerSocket); }
  std::string qmp_socket() const { return file(kQmpSocket); }
  std::string vsock_socket() const { return file(kVsockSocket); }
  std::string vhost_vsock_socket() const { return file(kVhostVsockSocket); }
  std::string virtiofs_socket(size_t index) const;
  std::string virtiofs_pid(size_t index) const;

  // Files that only mean something while the instance runs (sockets, pid files): what a
  // clean stop removes and what a start after a crash clears first.
  std::vector<std::string> runtime_files(size_t mounts) const;

  // Unix socket paths are limited (108 bytes on Linux, 104 on macOS): fails naming the
  // longest socket path when the instance directory is too deep for it.
  Status check_socket_lengths(size_t mounts) const;

 private:
  std::string file(const char* name) const { return dir_ + "/" + name; }
  std::string dir_;
};

}  // namespace berth::instance
