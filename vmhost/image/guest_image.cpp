#include "image/guest_image.h"

#include <algorithm>
#include <filesystem>

#include "berth/common/fs.h"
#include "berth/common/json.h"
#include "berth/common/protocol.h"

namespace berth::image {

namespace {

std::string join(const std::vector<std::string>& items) {
  std::string out;
  for (const auto& i : items) out += (out.empty() ? "" : ", ") + i;
  return out;
}

// "DIR" when it holds an image, else "DIR/<arch>".
std::string arch_dir(const std::string& dir, const std::string& arch) {
  if (fs::exists(dir + "/" + kVersionFile) || fs::exists(dir + "/" + kKernelFile)) return dir;
  return dir + "/" + arch;
}

}  // namespace

std::vector<std::string> candidates(const Search& s) {
  if (!s.explicit_dir.empty()) return {arch_dir(s.explicit_dir, s.arch)};
  if (!s.env_dir.empty()) return {arch_dir(s.env_dir, s.arch)};
  std::vector<std::string> out;
  if (!s.executable.empty()) {
    auto bin = std::filesystem::path(s.executable).parent_path();
    // Build tree: build/vmhost/berth next to build/images/<arch> (images/CMakeLists.txt).
    out.push_back((bin.parent_path() / "images" / s.arch).lexically_normal().string());
    // Installed under a prefix: PREFIX/bin/berth and PREFIX/share/berth/images/<arch>.
    out.push_back((bin.parent_path() / "share" / "berth" / "images" / s.arch).lexically_normal().string());
  }
  std::string system = std::string(kSystemImageRoot) + "/" + s.arch;
  if (std::find(out.begin(), out.end(), system) == out.end()) out.push_back(system);
  return out;
}

Result<GuestImage> read_version(const std::string& dir, std::string_view version_json, const std::string& arch) {
  std::string what = dir + "/" + kVersionFile;
  Json j = BERTH_TRY(parse_json(version_json, what));
  GuestImage img;
  img.dir = dir;
  img.kernel = dir + "/" + kKernelFile;
  img.initrd = dir + "/" + kInitrdFile;
  BERTH_TRY(json_boundary(what, [&] {
    const Json* protocol = jsonf::find(j, "protocol");
    if (!protocol) throw JsonFieldError("protocol", "missing");
    uint64_t p = jsonf::get_uint(*protocol, "protocol");
    if (p > UINT32_MAX) throw JsonFieldError("protocol", "out of range");
    img.protocol = static_cast<uint32_t>(p);
    img.arch = jsonf::opt_string(j, "arch", "arch").value_or("");
    img.kernel_version = jsonf::opt_string(j, "kernel", "kernel").value_or("");
    img.berth_version = jsonf::opt_string(j, "berth", "berth").value_or("");
  }));
  if (img.protocol != protocol::kProtocolVersion) {
    return make_error(Errc::unsupported,
                      "guest image in " + dir + " speaks protocol " + std::to_string(img.protocol) +
                          " but this berth speaks protocol " + std::to_string(protocol::kProtocolVersion) +
                          "; rebuild the image (images/build, or `ninja guest-image`) from the same berth version");
  }
  if (!img.arch.empty() && img.arch != arch) {
    return make_error(Errc::invalid_argument, "guest image in " + dir + " is for " + img.arch + ", not " + arch);
  }
  return img;
}

Result<GuestImage> open_dir(const std::string& dir, const std::string& arch) {
  std::string version_path = dir + "/" + kVersionFile;
  if (!fs::exists(dir)) return make_error(Errc::not_found, "guest image directory " + dir + " does not exist");
  if (!fs::exists(version_path)) {
    return make_error(Errc::not_found, "guest image in " + dir + " has no " + kVersionFile + " file");
  }
  std::string text = BERTH_TRY(fs::read_file(version_path));
  GuestImage img = BERTH_TRY(read_version(dir, text, arch));
  if (!fs::exists(img.kernel)) return make_error(Errc::not_found, "guest image in " + dir + " has no " + kKernelFile);
  if (!fs::exists(img.initrd)) {
    std::string hint = fs::exists(dir + "/" + kFloorInitrdFile)
                           ? " (only the boot-time floor is built; run `ninja guest-image`)"
                           : " (build it with images/build or `ninja guest-image`)";
    return make_error(Errc::not_found, "guest image in " + dir + " has no " + kInitrdFile + hint);
  }
  return img;
}

Result<GuestImage> locate(const Search& search) {
  auto dirs = candidates(search);
  if (dirs.size() == 1) return open_dir(dirs.front(), search.arch);
  for (const auto& d : dirs) {
    // The first directory that has an image at all decides: a broken or incompatible
    // image there is reported rather than silently skipped.
    if (fs::exists(d + "/" + kVersionFile) || fs::exists(d + "/" + kKernelFile)) return open_dir(d, search.arch);
  }
  return make_error(Errc::not_found, "no " + search.arch + " guest image found (looked in " + join(dirs) +
                                         "); build it with `ninja guest-image` or pass --image-dir / set BERTH_IMAGE_DIR");
}

}  // namespace berth::image
