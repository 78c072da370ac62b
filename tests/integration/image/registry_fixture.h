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
#include "registry_process.h"
#include "test_support.h"

namespace berth::agent::image::testing {

using berth::test::free_port;
using berth::test::port_open;
using berth::test::RegistryProcess;

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
