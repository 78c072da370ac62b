// A real registry for image-store integration tests: Debian's docker-registry (distribution
// 2.8) on 127.0.0.1 with a free port and private storage, optionally behind htpasswd basic
// auth, plus an OCI image layout built from busybox-static and pushed with skopeo.
#pragma once

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "berth/common/json.h"
#include "image/digest.h"
#include "image/oci_types.h"
#include "image/platform.h"
#include "process.h"
#include "test_support.h"

namespace berth::agent::image::testing {

inline int free_port() {
  int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr);
  socklen_t len = sizeof addr;
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
  ::close(fd);
  return ntohs(addr.sin_port);
}

inline bool port_open(int port) {
  int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = htons(static_cast<uint16_t>(port));
  bool ok = ::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0;
  ::close(fd);
  return ok;
}

class RegistryProcess {
 public:
  // Empty string on success, else why it could not start.
  std::string start(const std::string& dir, const std::string& htpasswd_file = "") {
    dir_ = dir;
    std::filesystem::create_directories(dir + "/storage");
    for (int attempt = 0; attempt < 5 && pid_ <= 0; ++attempt) {
      port_ = free_port();
      std::string config = "version: 0.1\n"
                           "log:\n  level: error\n  accesslog:\n    disabled: true\n"
                           "storage:\n  filesystem:\n    rootdirectory: " + dir + "/storage\n  delete:\n    enabled: true\n"
                           "http:\n  addr: 127.0.0.1:" + std::to_string(port_) + "\n";
      if (!htpasswd_file.empty())
        config += "auth:\n  htpasswd:\n    realm: berth-test\n    path: " + htpasswd_file + "\n";
      write_file(dir + "/config.yml", config);
      pid_t pid = ::fork();
      if (pid == 0) {
        int log = ::open((dir + "/registry.log").c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
        ::dup2(log, 1);
        ::dup2(log, 2);
        ::setpgid(0, 0);
        ::execl("/usr/bin/docker-registry", "docker-registry", "serve", (dir + "/config.yml").c_str(), nullptr);
        ::_exit(127);
      }
      pid_ = pid;
      auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(15);
      while (std::chrono::steady_clock::now() < deadline) {
        if (port_open(port_)) return "";
        int status;
        if (::waitpid(pid_, &status, WNOHANG) == pid_) {
          pid_ = -1;  // lost the port race, or broken config: retry, then give up
          break;
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(50));
      }
      if (pid_ > 0) {
        stop();
        return "docker-registry did not listen within 15s";
      }
    }
    if (pid_ <= 0) return "docker-registry exited: " + read_file(dir + "/registry.log").value_or("");
    return "";
  }

  void stop() {
    if (pid_ <= 0) return;
    ::kill(pid_, SIGTERM);
    int status;
    for (int i = 0; i < 100; ++i) {
      if (::waitpid(pid_, &status, WNOHANG) == pid_) {
        pid_ = -1;
        return;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    ::kill(pid_, SIGKILL);
    ::waitpid(pid_, &status, 0);
    pid_ = -1;
  }

  ~RegistryProcess() { stop(); }

  int port() const { return port_; }
  std::string host() const { return "127.0.0.1:" + std::to_string(port_); }
  std::string storage() const { return dir_ + "/storage"; }
  // The registry's own copy of a blob, to corrupt it behind its back.
  std::string blob_file(const std::string& digest) const {
    std::string hex(digest_hex(digest));
    return storage() + "/docker/registry/v2/blobs/sha256/" + hex.substr(0, 2) + "/" + hex + "/data";
  }

 private:
  std::string dir_;
  int port_ = 0;
  pid_t pid_ = -1;
};

// An OCI image layout on disk, written blob by blob.
class OciLayoutBuilder {
 public:
  explicit OciLayoutBuilder(std::string dir) : dir_(std::move(dir)) {
    std::filesystem::create_directories(dir_ + "/blobs/sha256");
    write_file(dir_ + "/oci-layout", R"({"imageLayoutVersion":"1.0.0"})");
  }

  std::string blob(const std::string& data) {
    std::string d = sha256_digest(data);
    write_file(dir_ + "/blobs/sha256/" + std::string(digest_hex(d)), data);
    return d;
  }

  struct Image {
    Descriptor manifest;
    std::string config_digest;
    std::vector<std::string> layer_digests;
    std::vector<std::string> diff_ids;
  };

  Image image(const std::vector<std::pair<std::vector<TarEntry>, TarCompression>>& layers, const Platform& p,
              const std::vector<std::string>& cmd = {"/bin/sh"}) {
    Image img;
    Manifest m;
    m.media_type = std::string(media_type::kOciManifest);
    Json history = Json::array();
    for (const auto& [entries, c] : layers) {
      std::string data = build_tar(entries, c);
      img.diff_ids.push_back(sha256_digest(build_tar(entries)));
      img.layer_digests.push_back(blob(data));
      m.layers.push_back({std::string(c == TarCompression::zstd ? media_type::kOciLayerZstd
                                      : c == TarCompression::gzip ? media_type::kOciLayerGzip
                                                                  : media_type::kOciLayer),
                          img.layer_digests.back(), static_cast<int64_t>(data.size()), std::nullopt, {}, {}});
      history.push_back({{"created", "2024-01-01T00:00:00Z"}, {"created_by", "layer"}});
    }
    Json config = {{"architecture", p.architecture}, {"os", p.os}, {"created", "2024-01-01T00:00:00Z"},
                   {"config", {{"Cmd", cmd}, {"Env", {"PATH=/bin"}}, {"User", "app"}}},
                   {"rootfs", {{"type", "layers"}, {"diff_ids", img.diff_ids}}}, {"history", history}};
    if (!p.variant.empty()) config["variant"] = p.variant;
    std::string config_text = config.dump();
    img.config_digest = blob(config_text);
    m.config = {std::string(media_type::kOciConfig), img.config_digest, static_cast<int64_t>(config_text.size()), std::nullopt, {}, {}};
    std::string body = manifest_to_json(m);
    img.manifest = {std::string(media_type::kOciManifest), blob(body), static_cast<int64_t>(body.size()), p, {}, {}};
    return img;
  }

  void tag(const std::string& name, Descriptor d) {
    d.annotations["org.opencontainers.image.ref.name"] = name;
    index_.manifests.push_back(std::move(d));
    index_.media_type = std::string(media_type::kOciIndex);
    write_file(dir_ + "/index.json", index_to_json(index_));
  }

  Descriptor multi(const std::vector<Descriptor>& manifests) {
    Index idx;
    idx.media_type = std::string(media_type::kOciIndex);
    idx.manifests = manifests;
    std::string body = index_to_json(idx);
    return {std::string(media_type::kOciIndex), blob(body), static_cast<int64_t>(body.size()), std::nullopt, {}, {}};
  }

  const std::string& dir() const { return dir_; }

 private:
  std::string dir_;
  Index index_;
};

inline std::string read_binary(const std::string& path) { return read_file(path).value_or(""); }

// layer 1: busybox with its applet symlinks, accounts, files a later layer hides.
inline std::vector<TarEntry> busybox_layer() {
  std::vector<TarEntry> e = {TarEntry::dir("bin"), TarEntry::file("bin/busybox", read_binary("/bin/busybox"), 0755)};
  for (const char* applet : {"sh", "ls", "cat", "echo", "id", "true"}) e.push_back(TarEntry::symlink(std::string("bin/") + applet, "busybox"));
  e.push_back(TarEntry::dir("etc"));
  e.push_back(TarEntry::file("etc/passwd", "root:x:0:0:root:/root:/bin/sh\napp:x:1000:1000::/home/app:/bin/sh\n"));
  e.push_back(TarEntry::file("etc/group", "root:x:0:\napp:x:1000:\nextra:x:2000:app\n"));
  e.push_back(TarEntry::file("etc/removeme", "going away"));
  e.push_back(TarEntry::dir("opq"));
  e.push_back(TarEntry::file("opq/a", "a"));
  e.push_back(TarEntry::file("opq/b", "b"));
  e.push_back(TarEntry::dir("tmp", 01777));
  return e;
}

// layer 2: a new file, a whiteout of a layer-1 file, an opaque directory with new content.
inline std::vector<TarEntry> change_layer() {
  return {TarEntry::file("hello.txt", "hello from layer 2\n"), TarEntry::dir("etc"), TarEntry::file("etc/.wh.removeme", ""),
          TarEntry::dir("opq"), TarEntry::file("opq/.wh..wh..opq", ""), TarEntry::file("opq/c", "c")};
}

}  // namespace berth::agent::image::testing
