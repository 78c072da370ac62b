#include "guest_memory.h"

#include <sys/mman.h>

#include <algorithm>
#include <string>
#include <utility>

namespace berth::vsock {
namespace {

// [addr, addr + len) inside [start, start + size), written so that nothing overflows.
bool inside(uint64_t addr, uint64_t len, uint64_t start, uint64_t size) {
  if (addr < start) return false;
  uint64_t off = addr - start;
  return off <= size && len <= size - off;
}

}  // namespace

GuestMemory::GuestMemory(GuestMemory&& other) noexcept : regions_(std::move(other.regions_)) {
  other.regions_.clear();
}

GuestMemory& GuestMemory::operator=(GuestMemory&& other) noexcept {
  if (this != &other) {
    unmap_all();
    regions_ = std::move(other.regions_);
    other.regions_.clear();
  }
  return *this;
}

GuestMemory::~GuestMemory() { unmap_all(); }

void GuestMemory::unmap_all() {
  for (auto& r : regions_) ::munmap(r.map_addr, r.map_len);
  regions_.clear();
}

Result<GuestMemory> GuestMemory::map(const std::vector<MemoryRegion>& regions, std::vector<UniqueFd> fds) {
  if (regions.size() != fds.size()) {
    return make_error(Errc::protocol, "memory table has " + std::to_string(regions.size()) + " regions but " +
                                          std::to_string(fds.size()) + " fds");
  }
  GuestMemory memory;
  for (size_t i = 0; i < regions.size(); ++i) {
    const MemoryRegion& r = regions[i];
    std::string which = "memory region " + std::to_string(i);
    if (r.size == 0) return make_error(Errc::protocol, which + " is empty");
    if (r.guest_phys_addr + r.size < r.guest_phys_addr || r.user_addr + r.size < r.user_addr ||
        r.mmap_offset + r.size < r.mmap_offset) {
      return make_error(Errc::protocol, which + " wraps around the address space");
    }
    for (const auto& other : memory.regions_) {
      const MemoryRegion& o = other.region;
      bool disjoint = r.guest_phys_addr + r.size <= o.guest_phys_addr || o.guest_phys_addr + o.size <= r.guest_phys_addr;
      if (!disjoint) return make_error(Errc::protocol, which + " overlaps another region");
    }
    if (!fds[i]) return make_error(Errc::protocol, which + " came without an fd");
    // The fd maps the whole backing object; the region starts mmap_offset bytes in.
    size_t len = static_cast<size_t>(r.size + r.mmap_offset);
    void* addr = ::mmap(nullptr, len, PROT_READ | PROT_WRITE, MAP_SHARED, fds[i].get(), 0);
    if (addr == MAP_FAILED) return sys_error("mmap " + which);
    Mapped m;
    m.region = r;
    m.map_addr = addr;
    m.map_len = len;
    m.base = static_cast<uint8_t*>(addr) + r.mmap_offset;
    memory.regions_.push_back(m);
  }
  return memory;
}

const GuestMemory::Mapped* GuestMemory::find_gpa(uint64_t gpa) const {
  for (const auto& r : regions_) {
    if (gpa >= r.region.guest_phys_addr && gpa - r.region.guest_phys_addr < r.region.size) return &r;
  }
  return nullptr;
}

uint8_t* GuestMemory::gpa_to_host(uint64_t gpa, uint64_t len) const {
  for (const auto& r : regions_) {
    if (inside(gpa, len, r.region.guest_phys_addr, r.region.size)) return r.base + (gpa - r.region.guest_phys_addr);
  }
  return nullptr;
}

uint8_t* GuestMemory::uaddr_to_host(uint64_t uaddr, uint64_t len) const {
  for (const auto& r : regions_) {
    if (inside(uaddr, len, r.region.user_addr, r.region.size)) return r.base + (uaddr - r.region.user_addr);
  }
  return nullptr;
}

bool GuestMemory::gpa_to_spans(uint64_t gpa, uint64_t len, std::vector<HostSpan>& out) const {
  if (gpa + len < gpa) return false;
  size_t first = out.size();
  while (len > 0) {
    const Mapped* r = find_gpa(gpa);
    if (!r) {
      out.resize(first);
      return false;
    }
    uint64_t off = gpa - r->region.guest_phys_addr;
    uint64_t chunk = std::min(len, r->region.size - off);
    out.push_back(HostSpan{r->base + off, static_cast<size_t>(chunk)});
    gpa += chunk;
    len -= chunk;
  }
  return true;
}

}  // namespace berth::vsock
