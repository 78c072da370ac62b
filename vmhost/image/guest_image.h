// The guest image a VM boots (images/build output): vmlinuz, initramfs and VERSION, found
// through --image-dir, $BERTH_IMAGE_DIR, the build tree next to the binary, or the install
// prefix, and refused when it speaks a different host/guest protocol than this berth.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "berth/common/result.h"

namespace berth::image {

inline constexpr const char* kKernelFile = "vmlinuz";
inline constexpr const char* kInitrdFile = "initramfs";
inline constexpr const char* kFloorInitrdFile = "initramfs-floor";
inline constexpr const char* kVersionFile = "VERSION";
inline constexpr const char* kSystemImageRoot = "/usr/share/berth/images";

struct GuestImage {
  std::string dir;
  std::string kernel;
  std::string initrd;
  uint32_t protocol = 0;
  std::string arch;
  std::string kernel_version;
  std::string berth_version;
};

struct Search {
  std::string explicit_dir;  // --image-dir
  std::string env_dir;       // $BERTH_IMAGE_DIR
  std::string executable;    // absolute path of the running berth binary
  std::string arch;          // amd64 / arm64
};

// Where to look, in order. An explicit or environment directory is the only candidate
// (a wrong one is an error, not a reason to boot something else); it may be the
// architecture's directory itself or its parent.
std::vector<std::string> candidates(const Search& search);

// Parses VERSION and checks protocol and architecture.
Result<GuestImage> read_version(const std::string& dir, std::string_view version_json, const std::string& arch);

// Checks one directory: files present, VERSION compatible.
Result<GuestImage> open_dir(const std::string& dir, const std::string& arch);

// The first candidate holding an image; errors say where it looked and how to get one.
Result<GuestImage> locate(const Search& search);

}  // namespace berth::image
