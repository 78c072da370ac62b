// GuestMemory: the guest RAM regions QEMU shares over vhost-user, and bounds-checked
// translation of guest-physical and QEMU-virtual addresses into our mappings.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

#include "berth/common/result.h"
#include "berth/common/unique_fd.h"

namespace berth::vsock {

struct MemoryRegion {
  uint64_t guest_phys_addr = 0;
  uint64_t size = 0;
  uint64_t user_addr = 0;    // where QEMU mapped it; vring addresses use this space
  uint64_t mmap_offset = 0;  // where the region starts inside the fd
};

// A piece of guest memory as seen from this process.
struct HostSpan {
  uint8_t* data = nullptr;
  size_t size = 0;
};

class GuestMemory {
 public:
  GuestMemory() = default;
  GuestMemory(GuestMemory&& other) noexcept;
  GuestMemory& operator=(GuestMemory&& other) noexcept;
  GuestMemory(const GuestMemory&) = delete;
  GuestMemory& operator=(const GuestMemory&) = delete;
  ~GuestMemory();

  // Maps each region from its fd (one fd per region, in order). The fds are closed once
  // mapped; the mappings stay valid until this object goes away.
  static Result<GuestMemory> map(const std::vector<MemoryRegion>& regions, std::vector<UniqueFd> fds);

  bool empty() const { return regions_.empty(); }
  size_t region_count() const { return regions_.size(); }

  // Host pointer for [gpa, gpa + len) when all of it lies in one region, else nullptr.
  uint8_t* gpa_to_host(uint64_t gpa, uint64_t len) const;
  // Same for QEMU's virtual addresses (vring addresses in SET_VRING_ADDR).
  uint8_t* uaddr_to_host(uint64_t uaddr, uint64_t len) const;
  // Appends spans covering [gpa, gpa + len); a buffer may run across adjacent regions.
  // False (and `out` unchanged) when any byte is outside guest memory.
  bool gpa_to_spans(uint64_t gpa, uint64_t len, std::vector<HostSpan>& out) const;

 private:
  struct Mapped {
    MemoryRegion region;
    uint8_t* base = nullptr;  // start of the region itself (mapping + mmap_offset)
    void* map_addr = nullptr;
    size_t map_len = 0;
  };
  const Mapped* find_gpa(uint64_t gpa) const;
  void unmap_all();

  std::vector<Mapped> regions_;
};

}  // namespace berth::vsock
