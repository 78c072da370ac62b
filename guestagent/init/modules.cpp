#include "init/modules.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>
#include <filesystem>
#include <sstream>

#include "berth/common/fs.h"
#include "berth/common/unique_fd.h"
#include "init/console.h"

namespace berth::agent::init {

Result<std::vector<std::string>> read_module_list(const std::string& path) {
  std::string text = BERTH_TRY(fs::read_file(path));
  std::vector<std::string> out;
  std::istringstream in(text);
  std::string line;
  while (std::getline(in, line)) {
    while (!line.empty() && (line.back() == ' ' || line.back() == '\r')) line.pop_back();
    if (line.empty() || line[0] == '#') continue;
    out.push_back(line);
  }
  return out;
}

ModuleReport load_modules(const std::vector<std::string>& paths, bool remove_loaded) {
  ModuleReport report;
  for (const auto& path : paths) {
    int64_t start = boot_ms();
    UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
    if (!fd) {
      report.failures.push_back(path + ": " + std::strerror(errno));
      continue;
    }
    bool in_kernel = true;
    if (::syscall(SYS_finit_module, fd.get(), "", 0) == 0) {
      ++report.loaded;
    } else if (errno == EEXIST) {
      ++report.already;
    } else {
      report.failures.push_back(path + ": " + std::strerror(errno));
      in_kernel = false;
    }
    struct stat st {};
    if (remove_loaded && in_kernel && ::fstat(fd.get(), &st) == 0 && ::unlink(path.c_str()) == 0)
      report.removed_bytes += st.st_size;
    report.times.emplace_back(path.substr(path.rfind('/') + 1), boot_ms() - start);
  }
  return report;
}

namespace {

std::string module_name(const std::string& path) {
  std::string name = path.substr(path.rfind('/') + 1);
  return name.substr(0, name.find(".ko"));
}

}  // namespace

size_t boot_module_count(const std::vector<std::string>& paths) {
  static const char* const kBootModules[] = {"virtio_mmio", "virtio_pci", "virtio_blk", "virtio_net", "virtio_rng",
                                             "virtio-rng", "vsock", "vmw_vsock_virtio_transport", "fuse", "virtiofs",
                                             "button"};
  size_t count = 0;
  for (size_t i = 0; i < paths.size(); ++i) {
    std::string name = module_name(paths[i]);
    for (const char* m : kBootModules)
      if (name == m) count = i + 1;
  }
  return count;
}

size_t modules_through(const std::vector<std::string>& paths, size_t from, const std::string& driver) {
  for (size_t i = from; i < paths.size(); ++i)
    if (module_name(paths[i]) == driver) return i + 1;
  return from;
}

BootDevices probe_boot_devices(bool shares) {
  BootDevices d;
  d.shares = shares;
  std::error_code ec;
  d.pci = std::filesystem::directory_iterator("/sys/bus/pci/devices", ec) != std::filesystem::directory_iterator();
  return d;
}

ModuleSplit split_modules(const std::vector<std::string>& paths, const BootDevices& devices) {
  auto deferred = [&](const std::string& name) {
    if (!devices.pci && (name == "virtio_pci" || name == "virtio_pci_modern_dev" || name == "virtio_pci_legacy_dev"))
      return true;
    return !devices.shares && (name == "fuse" || name == "virtiofs");
  };
  ModuleSplit split;
  size_t boot = boot_module_count(paths);
  std::vector<std::string> rest;
  for (size_t i = 0; i < paths.size(); ++i) {
    if (i >= boot) {
      rest.push_back(paths[i]);
    } else if (deferred(module_name(paths[i]))) {
      split.late.push_back(paths[i]);
    } else {
      split.boot.push_back(paths[i]);
    }
  }
  split.late.insert(split.late.end(), rest.begin(), rest.end());
  return split;
}

std::string ModuleReport::slowest(size_t count) const {
  auto sorted = times;
  std::stable_sort(sorted.begin(), sorted.end(), [](const auto& a, const auto& b) { return a.second > b.second; });
  std::string out;
  for (size_t i = 0; i < sorted.size() && i < count; ++i) {
    if (!out.empty()) out += ", ";
    out += sorted[i].first + " " + std::to_string(sorted[i].second) + " ms";
  }
  return out;
}

}  // namespace berth::agent::init
